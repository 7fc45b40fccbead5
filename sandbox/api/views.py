"""The Lambda REST API (2015-03-31): each view checks the caller's SigV4 signature, calls the
sandbox's services and selectors for the caller's own functions, and answers in Lambda's
shapes. Errors are LambdaError, rendered by the `operation` wrapper.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.csrf import csrf_exempt

from lambdalab.json_input import JSONTooDeep, json_parse
from sandbox import selectors as sandbox_selectors
from sandbox import services as sandbox_services
from sandbox.api import errors, selectors, services, shapes, sigv4
from sandbox.api.errors import LambdaError
from sandbox.api.models import (
    AccessKey,
    Alias,
    EventInvokeConfig,
    FunctionUrlConfig,
    FunctionVersion,
    PolicyStatement,
    ProvisionedConcurrencyConfig,
)
from sandbox.aws import roles
from sandbox.aws.accounts import account_for
from sandbox.aws.calls import LambdaAnswer, LambdaRequest
from sandbox.aws.models import ExecutionRole
from sandbox.engine import FunctionSpec
from sandbox.engine.protocol import MAX_REQUEST_BYTES
from sandbox.engine.spec import ZIP_MAX_BYTES
from sandbox.models import Function, Invocation
from sandbox.results import invocation_wait_finished

logger = logging.getLogger(__name__)

# A base64 zip of ZIP_MAX_BYTES plus the JSON around it.
MAX_BODY_BYTES = ZIP_MAX_BYTES * 4 // 3 + 64 * 1024
LOG_TAIL_BYTES = 4 * 1024
# An asynchronous invocation's event may be 1 MB (256 KB until Lambda raised it in 2025).
MAX_ASYNC_REQUEST_BYTES = 1024 * 1024
CODE_URL_MAX_AGE_S = 600  # GetFunction's Code.Location expires after 10 minutes, as on AWS
CODE_URL_SALT = "sandbox_api.code"

# Lambda's parameter names for the sandbox's own field names in ValidationError.
_PARAMETER_NAMES = {
    "name": "FunctionName",
    "handler": "Handler",
    "runtime": "Runtime",
    "memory_mb": "MemorySize",
    "timeout_s": "Timeout",
    "ephemeral_storage_mb": "EphemeralStorage.Size",
    "environment": "Environment.Variables",
    "architecture": "Architectures",
    "description": "Description",
    "files": "Code",
    "zip_file": "Code.ZipFile",
    "event": "Payload",
    "reserved_concurrency": "ReservedConcurrentExecutions",
    "provisioned_concurrency": "ProvisionedConcurrentExecutions",
}


@dataclass
class Call:
    """One verified API call: who made it and what it sent.

    key is the access key that signed it; None for a handler's call through the lab's gateway
    (sandbox.aws.gateway verified its role session and authorised it), which names the
    invocation that made it and how long a synchronous invoke may wait (the caller's timeout).
    """

    request: HttpRequest
    user: User
    body: bytes
    key: AccessKey | None = None
    invocation_id: int | None = None
    wait_limit_s: float | None = None

    @cached_property
    def account(self) -> str:
        """The caller's lab account: every ARN the API answers with or accepts is in it."""
        return account_for(self.user)

    def absolute_uri(self, location: str) -> str:
        if self.key is None:
            # The host the handler signed for (its relay); it is only echoed, never trusted.
            return f"http://{self.request.META.get('HTTP_HOST', '')}{location}"
        return self.request.build_absolute_uri(location)

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json_parse(self.body, what="The request body")
        except JSONTooDeep as exc:
            raise errors.LambdaError("InvalidRequestContentException", str(exc)) from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise errors.LambdaError(
                "InvalidRequestContentException", "Could not parse request body into json."
            ) from None
        if not isinstance(data, dict):
            raise errors.LambdaError(
                "InvalidRequestContentException", "The request body must be a JSON object."
            )
        return data

    def query(self, name: str) -> str | None:
        return self.request.GET.get(name) or None


Handler = Callable[..., HttpResponse]


def _read_body(request: HttpRequest) -> bytes:
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY_BYTES:
        raise errors.too_large(f"Request must be smaller than {MAX_BODY_BYTES} bytes.")
    # request.read(), not request.body: the body may be larger than Django's form-data cap.
    return request.read(length) if length else b""


def _signed_request(request: HttpRequest, body: bytes) -> sigv4.SignedRequest:
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    path = raw.split("?", 1)[0] if raw and raw.startswith("/") else sigv4.wire_path(request.path)
    return sigv4.SignedRequest(
        method=request.method or "GET",
        host=request.META.get("HTTP_HOST", ""),
        path=path,
        query_string=request.META.get("QUERY_STRING", ""),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
    )


def authenticate(request: HttpRequest, body: bytes) -> AccessKey:
    """The active access key that signed request. Raises LambdaError (403) otherwise."""
    found: dict[str, AccessKey] = {}

    def secret_for(key_id: str) -> str | None:
        key = selectors.access_key_active(access_key_id=key_id)
        if key is None:
            return None
        found[key_id] = key
        return key.secret

    key_id = sigv4.verify(_signed_request(request, body), secret_for=secret_for)
    key = found[key_id]
    services.access_key_mark_used(key=key)
    return key


# Each API view's handlers by HTTP method: what answer_from_gateway may call.
_OPERATIONS: dict[Callable[..., HttpResponse], dict[str, Handler]] = {}


def _answer(handler: Handler | None, call: Call, kwargs: dict[str, Any]) -> HttpResponse:
    try:
        if handler is None:
            raise LambdaError("UnknownOperationException", "Unknown operation.", status=400)
        return handler(call, **kwargs)
    except LambdaError as error:
        return errors.error_response(error)
    except Exception:
        logger.exception("Lambda API %s %s failed", call.request.method, call.request.path)
        return errors.error_response(errors.service("The sandbox failed to answer."))


def operation(**handlers: Handler) -> Callable[..., HttpResponse]:
    """A view answering each HTTP method with its handler(call, **url_kwargs)."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        handler = handlers.get(request.method or "")
        try:
            if handler is None:
                raise LambdaError("UnknownOperationException", "Unknown operation.", status=400)
            body = _read_body(request)
            key = authenticate(request, body)
        except LambdaError as error:
            return errors.error_response(error)
        return _answer(handler, Call(request=request, user=key.owner, key=key, body=body), kwargs)

    _OPERATIONS[view] = handlers
    return view


def answer_from_gateway(lambda_request: LambdaRequest) -> LambdaAnswer:
    """Answer a call the lab's gateway verified and authorised (a handler's, with its role's
    session) as its owner had made it with an access key: the same views, the same limits,
    every invocation through sandbox.services.invocation_start."""
    from django.core.handlers.wsgi import WSGIRequest

    headers = lambda_request.headers
    environ: dict[str, Any] = {
        "REQUEST_METHOD": lambda_request.method.upper(),
        # WSGI's PATH_INFO is the decoded path, its bytes read as latin-1.
        "PATH_INFO": unquote(lambda_request.path).encode().decode("latin-1"),
        "QUERY_STRING": lambda_request.query_string,
        "CONTENT_LENGTH": str(len(lambda_request.body)),
        "CONTENT_TYPE": headers.get("content-type", ""),
        "SERVER_NAME": "lab-services",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(lambda_request.body),
    }
    for name, value in headers.items():
        if name not in ("content-type", "content-length"):
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    request = WSGIRequest(environ)
    try:
        match = resolve(request.path_info, urlconf="sandbox.api.urls")
        handlers = _OPERATIONS.get(match.func)
    except Resolver404:
        handlers = None
    if handlers is None:
        response = errors.error_response(
            LambdaError("UnknownOperationException", "Unknown operation.", status=400)
        )
    elif len(lambda_request.body) > MAX_BODY_BYTES:
        response = errors.error_response(
            errors.too_large(f"Request must be smaller than {MAX_BODY_BYTES} bytes.")
        )
    else:
        call = Call(
            request=request,
            user=User.objects.get(pk=lambda_request.owner_id),
            body=lambda_request.body,
            invocation_id=lambda_request.invocation_id,
            wait_limit_s=lambda_request.wait_limit_s,
        )
        response = _answer(handlers.get(request.method or ""), call, match.kwargs)
    return LambdaAnswer(
        status=response.status_code,
        headers=[(name, str(value)) for name, value in response.items()],
        body=response.content,
    )


def _validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{_PARAMETER_NAMES.get(field, field)}: {' '.join(messages)}"
            for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


@dataclass(frozen=True)
class Target:
    """What a FunctionName and Qualifier name: a function, maybe a version or an alias."""

    function: Function
    qualifier: str | None
    version: FunctionVersion | None = None
    alias: Alias | None = None


def _target(call: Call, name: str) -> Target:
    """The caller's function named by the path (and Qualifier), resolved.

    Functions are looked up among the caller's own only: another learner's function is as
    absent as one that never existed. Raises ResourceNotFoundException.
    """
    ref = shapes.parse_function_name(name, account=call.account, qualifier=call.query("Qualifier"))
    missing = errors.not_found(
        f"Function not found: {shapes.function_arn(ref.name, ref.qualifier, account=call.account)}"
    )
    function = selectors.function_find(owner=call.user, name=ref.name)
    if function is None:
        raise missing
    qualifier = ref.qualifier
    if qualifier is None or qualifier == shapes.LATEST:
        return Target(function=function, qualifier=qualifier)
    if qualifier.isdigit():
        version = selectors.version_find(function=function, number=int(qualifier))
        if version is None:
            raise missing
        return Target(function=function, qualifier=qualifier, version=version)
    alias = selectors.alias_find(function=function, name=qualifier)
    if alias is None:
        raise missing
    version = (
        None
        if alias.function_version == shapes.LATEST
        else selectors.version_find(function=function, number=int(alias.function_version))
    )
    return Target(function=function, qualifier=qualifier, version=version, alias=alias)


def _unqualified(call: Call, name: str) -> Function:
    """For operations on the function itself ($LATEST): a version or alias is refused."""
    target = _target(call, name)
    if target.qualifier not in (None, shapes.LATEST):
        raise errors.invalid(f"Qualifier {target.qualifier} is not supported here.")
    return target.function


def _target_configuration(call: Call, target: Target) -> dict[str, Any]:
    if target.version is not None:
        return shapes.version_configuration(version=target.version, account=call.account)
    return _configuration(call, target.function)


def _configuration(call: Call, function: Function) -> dict[str, Any]:
    return shapes.configuration(
        function=function, account=call.account, package=shapes.Package.of(function)
    )


def _zip_bytes(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise errors.invalid(
            "Code.ZipFile is required: this sandbox accepts a .zip deployment package "
            "(S3 locations and container images are not available)."
        )
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise errors.invalid("Could not unzip uploaded file. Please check your file.") from None


# ---------------------------------------------------------------- functions


def _role(user: User, arn: Any) -> ExecutionRole | None:
    """Lambda's Role: an ARN of one of the learner's roles in their lab account."""
    try:
        return roles.role_for_api(owner=user, arn=str(arn or ""))
    except roles.RoleError as exc:
        raise errors.invalid(str(exc)) from None


def create_function(call: Call) -> HttpResponse:
    data = call.json()
    if data.get("PackageType", "Zip") != "Zip":
        raise errors.invalid("This sandbox runs .zip packages only (PackageType Zip).")
    code = data.get("Code") or {}
    zip_data = _zip_bytes(code.get("ZipFile"))
    architectures = data.get("Architectures") or ["x86_64"]
    if len(architectures) != 1:
        raise errors.invalid("Architectures must name exactly one architecture.")
    name = str(data.get("FunctionName") or "")
    role = _role(call.user, data.get("Role"))
    if selectors.function_find(owner=call.user, name=name) is not None:
        raise errors.conflict(f"Function already exist: {name}")
    try:
        files = sandbox_services.code_files_from_zip(data=zip_data, filename="Code.ZipFile")
        function = sandbox_services.function_create(
            owner=call.user,
            name=name,
            description=str(data.get("Description") or ""),
            runtime=str(data.get("Runtime") or ""),
            handler=str(data.get("Handler") or "") or None,
            memory_mb=data.get("MemorySize", 128),
            timeout_s=data.get("Timeout", 3),
            ephemeral_storage_mb=(data.get("EphemeralStorage") or {}).get("Size", 512),
            architecture=architectures[0],
            environment=(data.get("Environment") or {}).get("Variables") or {},
            files=files,
            events={},
        )
    except ValidationError as exc:
        raise errors.invalid(_validation_message(exc)) from None
    except sandbox_services.LimitReached as exc:
        raise LambdaError("CodeStorageExceededException", str(exc)) from None
    if role is not None:
        roles.function_role_set(function=function, role=role)
    if data.get("Publish"):
        version = services.version_publish(function=function)
        return JsonResponse(
            shapes.version_configuration(version=version, account=call.account), status=201
        )
    return JsonResponse(_configuration(call, function), status=201)


def list_functions(call: Call) -> HttpResponse:
    try:
        limit = int(call.query("MaxItems") or 50)
    except ValueError:
        raise errors.invalid("MaxItems must be a number between 1 and 10000.") from None
    if not 1 <= limit <= 10_000:
        raise errors.invalid("MaxItems must be a number between 1 and 10000.")
    marker = call.query("Marker")
    page = selectors.function_page(
        owner=call.user, after=_unmarker(marker) if marker else "", limit=limit
    )
    body: dict[str, Any] = {"Functions": [_configuration(call, f) for f in page[:limit]]}
    if len(page) > limit:
        body["NextMarker"] = _marker(page[limit - 1].name)
    return JsonResponse(body)


def _marker(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _unmarker(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, ValueError):
        raise errors.invalid("Invalid Marker.") from None


def get_function(call: Call, name: str) -> HttpResponse:
    target = _target(call, name)
    function = target.function
    claims = {"f": function.pk, "v": target.version.number if target.version else None}
    token = signing.dumps(claims, salt=CODE_URL_SALT)
    location = call.absolute_uri(reverse("sandbox_api:code", args=[token]))
    body: dict[str, Any] = {
        "Configuration": _target_configuration(call, target),
        "Code": {"RepositoryType": "S3", "Location": location},
        "Tags": {},
    }
    if function.reserved_concurrency is not None:
        body["Concurrency"] = {"ReservedConcurrentExecutions": function.reserved_concurrency}
    return JsonResponse(body)


def delete_function(call: Call, name: str) -> HttpResponse:
    target = _target(call, name)
    if target.alias is not None:
        raise errors.invalid("Deletion of aliases is not supported by DeleteFunction.")
    if target.version is not None:
        try:
            services.version_delete(version=target.version)
        except ValidationError as exc:
            raise errors.conflict(_validation_message(exc)) from None
    else:
        sandbox_services.function_delete(function=target.function)
    return HttpResponse(status=204)


def get_configuration(call: Call, name: str) -> HttpResponse:
    return JsonResponse(_target_configuration(call, _target(call, name)))


def _check_revision(call: Call, function: Function, data: dict[str, Any]) -> None:
    wanted = data.get("RevisionId")
    if wanted and wanted != _configuration(call, function)["RevisionId"]:
        raise LambdaError(
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. "
            "Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
            status=412,
        )


def update_configuration(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    data = call.json()
    _check_revision(call, function, data)
    runtime = data.get("Runtime")
    if runtime and runtime != function.runtime:
        raise errors.invalid(
            f"Runtime {runtime} cannot be set on {function.runtime} function here; "
            "create a new function for another runtime."
        )
    fields = {
        "Description": "description",
        "Handler": "handler",
        "MemorySize": "memory_mb",
        "Timeout": "timeout_s",
    }
    changes = {field: data[param] for param, field in fields.items() if param in data}
    if "EphemeralStorage" in data:
        changes["ephemeral_storage_mb"] = (data["EphemeralStorage"] or {}).get("Size", 512)
    if "Environment" in data:
        changes["environment"] = (data["Environment"] or {}).get("Variables") or {}
    role = _role(function.owner, data.get("Role"))
    if role is not None:
        roles.function_role_set(function=function, role=role)
    try:
        function = sandbox_services.function_update_config(function=function, **changes)
    except ValidationError as exc:
        function.refresh_from_db()
        raise errors.invalid(_validation_message(exc)) from None
    return JsonResponse(_configuration(call, function))


def update_code(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    data = call.json()
    _check_revision(call, function, data)
    zip_data = _zip_bytes(data.get("ZipFile"))
    architectures = data.get("Architectures")
    try:
        sandbox_services.function_code_upload(
            function=function, data=zip_data, filename="Code.ZipFile"
        )
        if architectures and architectures[0] != function.architecture:
            sandbox_services.function_update_config(
                function=function, architecture=architectures[0]
            )
    except ValidationError as exc:
        raise errors.invalid(_validation_message(exc)) from None
    function.refresh_from_db()
    if data.get("Publish"):
        version = services.version_publish(function=function)
        return JsonResponse(shapes.version_configuration(version=version, account=call.account))
    return JsonResponse(_configuration(call, function))


@csrf_exempt
def code_download(request: HttpRequest, token: str) -> HttpResponse:
    """GetFunction's Code.Location: the zip, for whoever holds the signed, expiring URL."""
    try:
        claims = signing.loads(token, salt=CODE_URL_SALT, max_age=CODE_URL_MAX_AGE_S)
    except signing.BadSignature:
        return HttpResponse(
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            status=403,
            content_type="application/xml",
        )
    function = Function.objects.filter(pk=claims["f"]).first()
    if function is None:
        return HttpResponse(status=404)
    if claims.get("v"):
        version = selectors.version_find(function=function, number=claims["v"])
        if version is None:
            return HttpResponse(status=404)
        data = shapes.zip_files(version.config["code"])
    else:
        data = sandbox_selectors.function_code_zip(function=function)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{function.name}.zip"'
    return response


# ---------------------------------------------------------------- invoke


def _too_many(exc: sandbox_services.LimitReached) -> LambdaError:
    return errors.too_many(
        str(exc), reason=getattr(exc, "reason", "") or "ConcurrentInvocationLimitExceeded"
    )


def _event_text(body: bytes, *, kind: str = "RequestResponse") -> str:
    most = MAX_ASYNC_REQUEST_BYTES if kind == "Event" else MAX_REQUEST_BYTES
    if len(body) > most:
        raise errors.too_large(
            f"{len(body)} byte payload is too large for the {kind} invocation type "
            f"({most} byte maximum)"
        )
    text = body.decode("utf-8", "replace") if body else "{}"
    try:
        json_parse(text, what="The payload")
    except JSONTooDeep as exc:
        raise LambdaError("InvalidRequestContentException", str(exc)) from None
    except json.JSONDecodeError as exc:
        raise LambdaError(
            "InvalidRequestContentException",
            f"Could not parse request body into json: {exc.msg}",
        ) from None
    return text


def wait_seconds(invocation: Invocation) -> float:
    timeout_s = int(invocation.config.get("timeout_s", 3))
    # INIT may take up to 10 s before the handler's own timeout starts.
    return timeout_s + 10 + settings.SANDBOX_API_QUEUE_WAIT_SECONDS


def _pick(target: Target) -> tuple[str, FunctionSpec | None]:
    """The version one invocation runs and its spec (None: the function's $LATEST)."""
    if target.alias is not None:
        chosen = services.alias_pick_version(alias=target.alias)
        if chosen == shapes.LATEST:
            return chosen, None
        version = selectors.version_find(function=target.function, number=int(chosen))
        if version is None:
            raise errors.not_found(f"Function version {chosen} of the alias no longer exists.")
        return chosen, services.version_spec(version=version)
    if target.version is not None:
        return str(target.version.number), services.version_spec(version=target.version)
    return shapes.LATEST, None


def invoke(call: Call, name: str) -> HttpResponse:
    target = _target(call, name)
    function = target.function
    kind = call.request.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    if kind not in ("RequestResponse", "Event", "DryRun"):
        raise errors.invalid(f"Unsupported invocation type {kind}.")
    version, spec = _pick(target)
    if kind == "DryRun":
        response = HttpResponse(status=204)
        response["X-Amz-Executed-Version"] = version
        return response
    event_text = _event_text(call.body, kind=kind)
    depth = _chain_depth(call)
    try:
        if kind == "Event":
            event = services.async_invoke(
                function=function,
                requested_by=call.user,
                event_text=event_text,
                qualifier=target.qualifier or shapes.LATEST,
                executed_version=version,
                spec=spec,
                depth=depth,
            )
            response = HttpResponse(status=202)
            response["x-amzn-RequestId"] = str(event.request_id)
            return response
        with transaction.atomic():  # the task is sent once the depth is noted
            invocation = sandbox_services.invocation_start(
                function=function,
                event_text=event_text,
                requested_by=call.user,
                spec=spec,
                qualifier=target.qualifier or "",
            )
            if depth:
                services.invocation_chain_note(invocation_id=invocation.pk, depth=depth)
    except ValidationError as exc:
        raise errors.invalid(_validation_message(exc)) from None
    except sandbox_services.LimitReached as exc:
        raise _too_many(exc) from None
    wait_s = wait_seconds(invocation)
    if call.wait_limit_s is not None:
        # A handler waits no longer than its own timeout: its environment is gone by then,
        # and the gateway thread it holds is free again (the callee still runs).
        wait_s = min(wait_s, call.wait_limit_s)
    result_wait(invocation, timeout_s=wait_s)
    return _invoke_response(invocation, version=version, tail=_wants_tail(call))


def result_wait(invocation: Invocation, *, timeout_s: float) -> None:
    """Wait at most timeout_s for invocation to finish, then read its result (the result
    only: the event and code snapshot are what the request sent). An announcement that finds
    it still pending (a task delivered twice announces too) is waited past."""
    deadline = time.monotonic() + timeout_s
    left = timeout_s
    while True:
        announced = invocation_wait_finished(invocation_id=invocation.pk, timeout_s=left)
        invocation.refresh_from_db(fields=ANSWER_FIELDS)
        # Not announced: the wait is over (or Redis is down, and the database is the answer).
        if not announced or not invocation.is_pending:
            return
        left = max(deadline - time.monotonic(), 0)


def _chain_depth(call: Call) -> int:
    """The depth of the invocation call starts in a chain of handlers invoking functions (0 for
    a learner's own call). Raises RecursiveInvocationException at INVOKE_CHAIN_DEPTH."""
    if call.invocation_id is None:
        return 0
    depth = services.invocation_chain_depth(invocation_id=call.invocation_id) + 1
    if depth >= services.INVOKE_CHAIN_DEPTH:
        raise LambdaError(
            "RecursiveInvocationException",
            "Lambda has detected your function being invoked in a recursive loop with other AWS "
            f"resources and stopped your function's invocation: this invoke is the {depth}th "
            f"in a chain of handlers invoking functions (the limit is "
            f"{services.INVOKE_CHAIN_DEPTH - 1}).",
            status=400,
        )
    return depth


ANSWER_FIELDS = ["status", "failure_reason", "request_id", "payload", "error", "log"]


def _wants_tail(call: Call) -> bool:
    return (call.request.headers.get("X-Amz-Log-Type") or "None") == "Tail"


def _invoke_response(invocation: Invocation, *, version: str, tail: bool) -> HttpResponse:
    """Lambda's answer to a synchronous invoke of a finished (or still pending) invocation."""
    status = invocation.status
    if invocation.is_pending:
        raise errors.service(
            f"The sandbox did not finish invocation {invocation.pk} in time; it is still "
            f"{status}. Its result will be in the console."
        )
    if status == Invocation.Status.FAILED or (
        status == Invocation.Status.STOPPED and not invocation.error
    ):
        raise errors.service(invocation.failure_reason or "The sandbox could not run the function.")
    if status == Invocation.Status.THROTTLED:
        reason = (invocation.error or {}).get("Reason") or "ConcurrentInvocationLimitExceeded"
        raise errors.too_many("Rate Exceeded.", reason=reason)
    if status == Invocation.Status.SUCCESS:
        response = HttpResponse(json.dumps(invocation.payload), content_type="application/json")
    else:
        response = HttpResponse(json.dumps(invocation.error), content_type="application/json")
        response["X-Amz-Function-Error"] = "Unhandled"
    response["X-Amz-Executed-Version"] = version
    response["x-amzn-RequestId"] = invocation.request_id
    if tail:
        log = invocation.log.encode()[-LOG_TAIL_BYTES:]
        response["X-Amz-Log-Result"] = base64.b64encode(log).decode()
    return response


# ---------------------------------------------------------------- concurrency and account


def _reserved(function: Function) -> dict[str, Any]:
    if function.reserved_concurrency is None:
        return {}
    return {"ReservedConcurrentExecutions": function.reserved_concurrency}


def put_concurrency(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    value = call.json().get("ReservedConcurrentExecutions")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.invalid("ReservedConcurrentExecutions must be a whole number of 0 or more.")
    limit = settings.SANDBOX_ACCOUNT_CONCURRENCY
    if value > limit:
        raise errors.invalid(
            f"Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [0]; the sandbox's "
            f"account concurrency is {limit}."
        )
    try:
        function = sandbox_services.function_update_config(
            function=function, reserved_concurrency=value
        )
    except ValidationError as exc:
        function.refresh_from_db()
        raise errors.invalid(_validation_message(exc)) from None
    return JsonResponse(_reserved(function))


def get_concurrency(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    return JsonResponse(_reserved(function))


def delete_concurrency(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    try:
        sandbox_services.function_update_config(function=function, reserved_concurrency=None)
    except ValidationError as exc:
        raise errors.invalid(_validation_message(exc)) from None
    return HttpResponse(status=204)


def account_settings(call: Call) -> HttpResponse:
    functions, reserved = selectors.account_usage(owner=call.user)
    total_code = sum(shapes.Package.of(f).size for f in functions)
    limit = settings.SANDBOX_ACCOUNT_CONCURRENCY
    return JsonResponse(
        {
            "AccountLimit": {
                "TotalCodeSize": 75 * 1024**3,
                "CodeSizeUnzipped": 250 * 1024**2,
                "CodeSizeZipped": ZIP_MAX_BYTES,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": max(limit - reserved, 0),
            },
            "AccountUsage": {"TotalCodeSize": total_code, "FunctionCount": len(functions)},
        }
    )


# ---------------------------------------------------------------- versions and aliases


def _page(call: Call, items: list[Any]) -> tuple[list[Any], str | None]:
    """One page of items by MaxItems and an index Marker, and the next Marker (or None)."""
    try:
        limit = int(call.query("MaxItems") or 50)
        start = int(_unmarker(call.query("Marker") or "") or 0)
    except ValueError:
        raise errors.invalid("Invalid MaxItems or Marker.") from None
    if not 1 <= limit <= 10_000:
        raise errors.invalid("MaxItems must be a number between 1 and 10000.")
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, _marker(str(start + limit)) if more else None


def publish_version(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    data = call.json()
    _check_revision(call, function, data)
    wanted = data.get("CodeSha256")
    if wanted and wanted != _configuration(call, function)["CodeSha256"]:
        raise errors.invalid(
            f"CodeSHA256 ({wanted}) is different from current CodeSHA256 in $LATEST. "
            "Please try again with the CodeSHA256 in $LATEST."
        )
    try:
        version = services.version_publish(
            function=function, description=str(data.get("Description") or "")
        )
    except ValidationError as exc:
        raise errors.invalid(_validation_message(exc)) from None
    return JsonResponse(
        shapes.version_configuration(version=version, account=call.account), status=201
    )


def list_versions(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    shapes_all = [_configuration(call, function)] + [
        shapes.version_configuration(version=v, account=call.account)
        for v in selectors.version_list(function=function)
    ]
    page, marker = _page(call, shapes_all)
    body: dict[str, Any] = {"Versions": page}
    if marker:
        body["NextMarker"] = marker
    return JsonResponse(body)


def _weights(data: dict[str, Any]) -> dict[str, float] | None:
    if "RoutingConfig" not in data:
        return None
    weights = (data.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    if not isinstance(weights, dict):
        raise errors.invalid("RoutingConfig.AdditionalVersionWeights must be a map.")
    return weights


def _alias(call: Call, name: str, alias_name: str) -> Alias:
    function = _unqualified(call, name)
    alias = selectors.alias_find(function=function, name=alias_name)
    if alias is None:
        arn = shapes.function_arn(function.name, alias_name, account=call.account)
        raise errors.not_found(f"Alias not found: {arn}")
    return alias


def create_alias(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    data = call.json()
    alias_name = str(data.get("Name") or "")
    try:
        alias = services.alias_create(
            function=function,
            name=alias_name,
            function_version=str(data.get("FunctionVersion") or ""),
            description=str(data.get("Description") or ""),
            weights=_weights(data),
        )
    except ValidationError as exc:
        if getattr(exc, "code", None) == "exists":
            arn = shapes.function_arn(function.name, alias_name, account=call.account)
            raise errors.conflict(f"Alias already exists: {arn}") from None
        raise errors.invalid(_validation_message(exc)) from None
    return JsonResponse(shapes.alias_configuration(alias=alias, account=call.account), status=201)


def list_aliases(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    aliases = selectors.alias_list(
        function=function, function_version=call.query("FunctionVersion")
    )
    page, marker = _page(
        call, [shapes.alias_configuration(alias=a, account=call.account) for a in aliases]
    )
    body: dict[str, Any] = {"Aliases": page}
    if marker:
        body["NextMarker"] = marker
    return JsonResponse(body)


def get_alias(call: Call, name: str, alias_name: str) -> HttpResponse:
    return JsonResponse(
        shapes.alias_configuration(alias=_alias(call, name, alias_name), account=call.account)
    )


def update_alias(call: Call, name: str, alias_name: str) -> HttpResponse:
    alias = _alias(call, name, alias_name)
    data = call.json()
    if (
        data.get("RevisionId")
        and data["RevisionId"]
        != shapes.alias_configuration(alias=alias, account=call.account)["RevisionId"]
    ):
        raise LambdaError(
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id.",
            status=412,
        )
    try:
        alias = services.alias_update(
            alias=alias,
            function_version=data.get("FunctionVersion"),
            description=data.get("Description"),
            weights=_weights(data),
        )
    except ValidationError as exc:
        raise errors.invalid(_validation_message(exc)) from None
    return JsonResponse(shapes.alias_configuration(alias=alias, account=call.account))


def delete_alias(call: Call, name: str, alias_name: str) -> HttpResponse:
    services.alias_delete(alias=_alias(call, name, alias_name))
    return HttpResponse(status=204)


# ---------------------------------------------------------------- asynchronous invocation config


def _event_config_missing(call: Call, target: Target) -> LambdaError:
    arn = shapes.function_arn(
        target.function.name, target.qualifier or shapes.LATEST, account=call.account
    )
    return errors.not_found(f"The function {arn} doesn't have an EventInvokeConfig")


def _destination(data: dict[str, Any], which: str) -> str | None:
    config = data.get("DestinationConfig")
    if config is None:
        return None
    if not isinstance(config, dict) or not isinstance(config.get(which) or {}, dict):
        raise errors.invalid("DestinationConfig must be a map of OnSuccess and OnFailure.")
    destination = (config.get(which) or {}).get("Destination")
    if destination is not None and not isinstance(destination, str):
        raise errors.invalid(f"DestinationConfig.{which}.Destination must be an ARN.")
    return destination or ""


def _put_event_config(call: Call, name: str, *, replace: bool) -> HttpResponse:
    target = _target(call, name)
    data = call.json()
    try:
        config = services.event_invoke_config_put(
            function=target.function,
            qualifier=target.qualifier or shapes.LATEST,
            maximum_retry_attempts=data.get("MaximumRetryAttempts"),
            maximum_event_age_s=data.get("MaximumEventAgeInSeconds"),
            on_success=_destination(data, "OnSuccess"),
            on_failure=_destination(data, "OnFailure"),
            replace=replace,
        )
    except EventInvokeConfig.DoesNotExist:
        raise _event_config_missing(call, target) from None
    except ValidationError as exc:
        raise errors.invalid(_validation_message(exc)) from None
    return JsonResponse(shapes.event_invoke_config(config=config, account=call.account))


def put_event_config(call: Call, name: str) -> HttpResponse:
    return _put_event_config(call, name, replace=True)


def update_event_config(call: Call, name: str) -> HttpResponse:
    return _put_event_config(call, name, replace=False)


def _event_config(call: Call, name: str) -> tuple[Target, EventInvokeConfig]:
    target = _target(call, name)
    config = selectors.event_invoke_config_find(
        function=target.function, qualifier=target.qualifier or shapes.LATEST
    )
    if config is None:
        raise _event_config_missing(call, target)
    return target, config


def get_event_config(call: Call, name: str) -> HttpResponse:
    _, config = _event_config(call, name)
    return JsonResponse(shapes.event_invoke_config(config=config, account=call.account))


def delete_event_config(call: Call, name: str) -> HttpResponse:
    _, config = _event_config(call, name)
    services.event_invoke_config_delete(config=config)
    return HttpResponse(status=204)


def list_event_configs(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    configs = selectors.event_invoke_config_list(function=function)
    page, marker = _page(
        call, [shapes.event_invoke_config(config=c, account=call.account) for c in configs]
    )
    body: dict[str, Any] = {"FunctionEventInvokeConfigs": page}
    if marker:
        body["NextMarker"] = marker
    return JsonResponse(body)


event_config_view = operation(
    GET=get_event_config, PUT=put_event_config, POST=update_event_config, DELETE=delete_event_config
)
event_config_list_view = operation(GET=list_event_configs)
# ---------------------------------------------------------------- provisioned concurrency


def _provisioned_missing() -> LambdaError:
    return LambdaError(
        "ProvisionedConcurrencyConfigNotFoundException",
        "No Provisioned Concurrency Config found for this function",
        status=404,
    )


def _published(target: Target) -> None:
    if target.qualifier in (None, shapes.LATEST) or target.version is None:
        raise errors.invalid(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
        )


def put_provisioned(call: Call, name: str) -> HttpResponse:
    target = _target(call, name)
    _published(target)
    assert target.version is not None and target.qualifier is not None
    if target.alias is not None and target.alias.additional_weights:
        raise errors.invalid("Alias with weights can not be used with Provisioned Concurrency")
    try:
        config = services.provisioned_concurrency_put(
            function=target.function,
            qualifier=target.qualifier,
            version_number=target.version.number,
            requested=call.json().get("ProvisionedConcurrentExecutions", 0),
        )
    except ValidationError as exc:
        if getattr(exc, "code", None) == "conflict":
            raise errors.conflict(_validation_message(exc)) from None
        raise errors.invalid(_validation_message(exc)) from None
    return JsonResponse(shapes.provisioned_config(config=config, account=call.account), status=202)


def _provisioned(call: Call, name: str) -> ProvisionedConcurrencyConfig:
    target = _target(call, name)
    _published(target)
    config = selectors.provisioned_config_find(
        function=target.function, qualifier=target.qualifier or ""
    )
    if config is None:
        raise _provisioned_missing()
    return config


def get_provisioned(call: Call, name: str) -> HttpResponse:
    if call.query("List") == "ALL":
        function = _unqualified(call, name)
        configs = selectors.provisioned_config_list(function=function)
        items = [
            shapes.provisioned_config(config=c, account=call.account, with_arn=True)
            for c in configs
        ]
        page, marker = _page(call, items)
        body: dict[str, Any] = {"ProvisionedConcurrencyConfigs": page}
        if marker:
            body["NextMarker"] = marker
        return JsonResponse(body)
    return JsonResponse(
        shapes.provisioned_config(config=_provisioned(call, name), account=call.account)
    )


def delete_provisioned(call: Call, name: str) -> HttpResponse:
    services.provisioned_concurrency_delete(config=_provisioned(call, name))
    return HttpResponse(status=204)


# ---------------------------------------------------------------- function URLs


def _url_qualifier(target: Target) -> str:
    """A function URL belongs to $LATEST or an alias, never a version number (as on AWS)."""
    if target.alias is not None:
        return target.alias.name
    if target.qualifier not in (None, shapes.LATEST):
        raise errors.invalid(
            "A function URL can point to $LATEST or an alias only, not to a version number."
        )
    return shapes.LATEST


def _url_shape(call: Call, config: FunctionUrlConfig) -> dict[str, Any]:
    url = call.absolute_uri(shapes.function_url_path(config.url_id))
    return shapes.function_url_config(config=config, url=url, account=call.account)


def _invoke_mode(data: dict[str, Any]) -> None:
    if data.get("InvokeMode", "BUFFERED") != "BUFFERED":
        raise errors.invalid("This sandbox answers function URLs buffered (InvokeMode BUFFERED).")


def create_function_url(call: Call, name: str) -> HttpResponse:
    target = _target(call, name)
    qualifier = _url_qualifier(target)
    data = call.json()
    _invoke_mode(data)
    try:
        config = services.function_url_create(
            function=target.function,
            qualifier=qualifier,
            auth_type=str(data.get("AuthType") or ""),
            cors=data.get("Cors"),
        )
    except ValidationError as exc:
        if getattr(exc, "code", None) == "exists":
            arn = shapes.function_arn(target.function.name, target.qualifier, account=call.account)
            raise errors.conflict(
                f"Failed to create function url config for [functionArn = {arn}]. Error "
                "message:  FunctionUrlConfig exists for this Lambda function"
            ) from None
        raise errors.invalid(_validation_message(exc)) from None
    return JsonResponse(_url_shape(call, config), status=201)


def _function_url(call: Call, name: str) -> FunctionUrlConfig:
    target = _target(call, name)
    config = selectors.function_url_find(function=target.function, qualifier=_url_qualifier(target))
    if config is None:
        raise errors.not_found("The resource you requested does not exist.")
    return config


def get_function_url(call: Call, name: str) -> HttpResponse:
    return JsonResponse(_url_shape(call, _function_url(call, name)))


def update_function_url(call: Call, name: str) -> HttpResponse:
    config = _function_url(call, name)
    data = call.json()
    _invoke_mode(data)
    try:
        config = services.function_url_update(
            config=config, auth_type=data.get("AuthType"), cors=data.get("Cors")
        )
    except ValidationError as exc:
        raise errors.invalid(_validation_message(exc)) from None
    return JsonResponse(_url_shape(call, config))


def delete_function_url(call: Call, name: str) -> HttpResponse:
    services.function_url_delete(config=_function_url(call, name))
    return HttpResponse(status=204)


def list_function_urls(call: Call, name: str) -> HttpResponse:
    function = _unqualified(call, name)
    configs = selectors.function_url_list(function=function)
    page, marker = _page(call, [_url_shape(call, c) for c in configs])
    body: dict[str, Any] = {"FunctionUrlConfigs": page}
    if marker:
        body["NextMarker"] = marker
    return JsonResponse(body)


# ---------------------------------------------------------------- resource-based policy


def _policy_qualifier(target: Target) -> str:
    return "" if target.qualifier in (None, shapes.LATEST) else str(target.qualifier)


def add_permission(call: Call, name: str) -> HttpResponse:
    target = _target(call, name)
    data = call.json()
    invoked_via_url = data.get("InvokedViaFunctionUrl")
    try:
        statement = services.permission_add(
            function=target.function,
            qualifier=_policy_qualifier(target),
            sid=data.get("StatementId") or "",
            action=data.get("Action") or "",
            principal=data.get("Principal") or "",
            source_arn=str(data.get("SourceArn") or ""),
            source_account=str(data.get("SourceAccount") or ""),
            function_url_auth_type=str(data.get("FunctionUrlAuthType") or ""),
            invoked_via_function_url=None if invoked_via_url is None else bool(invoked_via_url),
        )
    except ValidationError as exc:
        if getattr(exc, "code", None) == "exists":
            raise errors.conflict(_validation_message(exc)) from None
        raise errors.invalid(_validation_message(exc)) from None
    body = {
        "Statement": json.dumps(shapes.policy_statement(statement=statement, account=call.account))
    }
    return JsonResponse(body, status=201)


def get_policy(call: Call, name: str) -> HttpResponse:
    target = _target(call, name)
    statements = selectors.policy_statements(
        function=target.function, qualifier=_policy_qualifier(target)
    )
    if not statements:
        raise errors.not_found("The resource you requested does not exist.")
    document = shapes.policy(statements=statements, account=call.account)
    revision = shapes.revision_id(*[(s.pk, s.updated_at.isoformat()) for s in statements])
    return JsonResponse({"Policy": json.dumps(document), "RevisionId": revision})


def remove_permission(call: Call, name: str, sid: str) -> HttpResponse:
    target = _target(call, name)
    statement: PolicyStatement | None = next(
        (
            s
            for s in selectors.policy_statements(
                function=target.function, qualifier=_policy_qualifier(target)
            )
            if s.sid == sid
        ),
        None,
    )
    if statement is None:
        raise errors.not_found(f"Statement {sid} is not found in resource policy.")
    services.permission_remove(statement=statement)
    return HttpResponse(status=204)


function_url_view = operation(
    POST=create_function_url,
    GET=get_function_url,
    PUT=update_function_url,
    DELETE=delete_function_url,
)
function_urls_view = operation(GET=list_function_urls)
policy_view = operation(GET=get_policy, POST=add_permission)
policy_statement_view = operation(DELETE=remove_permission)
provisioned_view = operation(GET=get_provisioned, PUT=put_provisioned, DELETE=delete_provisioned)
versions_view = operation(GET=list_versions, POST=publish_version)
aliases_view = operation(GET=list_aliases, POST=create_alias)
alias_view = operation(GET=get_alias, PUT=update_alias, DELETE=delete_alias)
functions_view = operation(GET=list_functions, POST=create_function)
function_view = operation(GET=get_function, DELETE=delete_function)
configuration_view = operation(GET=get_configuration, PUT=update_configuration)
code_view = operation(PUT=update_code)
invocations_view = operation(POST=invoke)
put_concurrency_view = operation(PUT=put_concurrency, DELETE=delete_concurrency)
get_concurrency_view = operation(GET=get_concurrency)
account_settings_view = operation(GET=account_settings)
