"""The worker's side of handlers' calls to the lab's AWS services: the pool's
services_handler and services_environment (sandbox/engine/pool.py says what each is for).

Kept apart from sandbox.execution so the pool can take them without importing the module that
uses the pool.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from sandbox.engine import FunctionSpec
from sandbox.engine.services import ServiceRequest, ServiceResponse
from sandbox.models import Function

# A console function's environments are named after it (Function.namespace; its tuning lab's
# add "/tuning"). Other namespaces (code challenges, checks) belong to no function and no role.
_FUNCTION_NAMESPACE = re.compile(r"^user-(\d+)/fn-(\d+)(?:/|$)")
_LAMBDA_SCOPE = "/lambda/aws4_request"  # in a SigV4 Authorization header's credential scope
_INVOCATION_HANDLE = re.compile(r"^invocation-(\d+)$")  # sandbox.execution.invocation_handle
# The gateway runs on threads of its own, which keep their database connections between calls;
# the engine's connection threads come and go with the jail's connections.
GATEWAY_THREADS = 8
_gateway_lock = threading.Lock()
_gateway_pool: ThreadPoolExecutor | None = None


def function_id_of(spec: FunctionSpec) -> int | None:
    """The id of the console function spec runs as, or None (a code challenge, a check)."""
    match = _FUNCTION_NAMESPACE.match(spec.namespace)
    return int(match[2]) if match else None


def services_environment(spec: FunctionSpec) -> dict[str, str]:
    """AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN for a new environment of
    spec: a session of its function's execution role (none for code that is not a function's,
    whose SDK calls then fail for want of credentials, as they would with no role)."""
    from sandbox.aws import roles

    function_id = function_id_of(spec)
    if function_id is None:
        return {}
    function = Function.objects.select_related("owner").filter(pk=function_id).first()
    if function is None:
        return {}
    return roles.session_credentials(function)


def services_handle(request: ServiceRequest) -> ServiceResponse:
    """Answer one request a handler sent to the lab's services: through the gateway, which
    verifies the role session, checks its policies and forwards to moto, as the function whose
    environment sent it. The call goes on the invocation's record."""
    global _gateway_pool
    if _LAMBDA_SCOPE in (request.header("authorization") or ""):
        # A call to Lambda may wait for another invocation (a synchronous invoke, up to the
        # caller's timeout): it waits on the connection's own thread, not on one the other
        # handlers' calls share, so invokes in flight never hold up their S3 or DynamoDB calls.
        try:
            return _gateway_call(request)
        finally:
            connection.close()
    with _gateway_lock:
        if _gateway_pool is None:
            _gateway_pool = ThreadPoolExecutor(GATEWAY_THREADS, thread_name_prefix="lab-gateway")
        threads = _gateway_pool
    return threads.submit(_gateway_call, request).result()


def _connection_keep() -> None:
    """Keep this gateway thread's database connection from call to call, whatever
    CONN_MAX_AGE says (a handler's calls come in bursts, and connecting costs more than the
    queries); only a connection that broke is dropped, to be opened again."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()


def invocation_id_of(request: ServiceRequest) -> int | None:
    """The invocation whose handler sent request, when it runs under the handle
    sandbox.execution gives it ("invocation-<id>")."""
    match = _INVOCATION_HANDLE.match(request.handle or "")
    return int(match[1]) if match else None


def _gateway_call(request: ServiceRequest) -> ServiceResponse:
    from sandbox.aws import gateway

    _connection_keep()
    # A spec that is no function's may still sign with a learner's own keys; a role session
    # names its function, and 0 is none.
    function_id = function_id_of(request.function) or 0
    response = gateway.handle(
        gateway.GatewayRequest(
            method=request.method,
            target=request.target,
            headers=request.headers,
            body=request.body,
        ),
        function_id=function_id,
        invocation_id=invocation_id_of(request),
        wait_limit_s=float(request.function.timeout_s),
    )
    call = response.call
    return ServiceResponse(
        status=response.status,
        headers=tuple(response.headers),
        body=response.body,
        call={
            "service": call.service,
            "operation": call.operation,
            "action": call.action,
            "resource": call.resource,
            "outcome": call.outcome,
            "status": call.status,
            "ms": call.duration_ms,
            "principal": call.principal,
            "message": call.message[:500],
        },
    )
