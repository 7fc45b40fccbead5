"""A console function's handler calls Lambda from the real jail with boto3, through the lab's
gateway and its execution role: the site's own Lambda API answers, as the owner's call would,
and every invocation it starts is the owner's (run by a real Celery worker)."""

import json
from collections.abc import Iterator

import pytest
from django.test import override_settings

from sandbox import execution
from sandbox.api import services as api_services
from sandbox.api.models import AsyncEvent
from sandbox.aws import roles
from sandbox.aws.accounts import account_for
from sandbox.models import Function, Invocation
from sandbox.pool import shutdown_pool
from sandbox.results import invocation_wait_finished
from sandbox.services import spec_for
from tests.sandbox.factories import FunctionFactory, InvocationFactory

# The gateway answers on its own threads, and the worker in its own process: both must see
# what the test wrote.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CALLER = """
import json

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

lam = boto3.client("lambda", config=Config(retries={"total_max_attempts": 1}))

def lambda_handler(event, context):
    try:
        if event.get("list"):
            names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
            got = lam.get_function(FunctionName=event["target"])["Configuration"]
            return {"names": sorted(names), "got": got["FunctionArn"]}
        answer = lam.invoke(
            FunctionName=event["target"],
            InvocationType=event.get("type", "RequestResponse"),
            Payload=json.dumps({"name": "Ada"}),
        )
    except ClientError as exc:
        return {"code": exc.response["Error"]["Code"], "message": exc.response["Error"]["Message"]}
    body = answer["Payload"].read()
    return {"status": answer["StatusCode"], "payload": json.loads(body) if body else None}
"""

GREETER = "def lambda_handler(event, context):\n    return {'hello': event['name']}\n"


@pytest.fixture
def lab(moto_server: str) -> Iterator[None]:
    shutdown_pool()  # a pool made before this test may have no services handler
    with override_settings(LAB_SERVICES_URL=moto_server):
        yield
    shutdown_pool()


def _queue(function: Function, event: dict) -> Invocation:
    config = spec_for(function=function, memory_mb=1769).to_config()
    config["timeout_s"] = 30
    return InvocationFactory(function=function, event=json.dumps(event), config=config)


def _execute(invocation: Invocation) -> Invocation:
    result = execution.invocation_execute(invocation_id=invocation.pk, worker="test")
    assert result is not None
    assert result.status == Invocation.Status.SUCCESS, result.log or result.failure_reason
    return result


def test_a_handler_invokes_another_function_once_its_role_allows_it(lab, celery_worker_process):
    caller = FunctionFactory(code=CALLER, name="caller")
    greeter = FunctionFactory(code=GREETER, name="greeter", owner=caller.owner)
    account = account_for(caller.owner)
    arn = f"arn:aws:lambda:us-east-1:{account}:function:greeter"
    role = roles.function_role(caller)

    denied = _execute(_queue(caller, {"target": "greeter"}))
    assert denied.payload == {
        "code": "AccessDeniedException",
        "message": (
            f"User: arn:aws:sts::{account}:assumed-role/{role.name}/caller is not authorized to "
            f"perform: lambda:InvokeFunction on resource: {arn} because no identity-based "
            "policy allows the lambda:InvokeFunction action"
        ),
    }
    assert [(c["operation"], c["outcome"], c["resource"]) for c in denied.service_calls] == [
        ("Invoke", "denied", arn)
    ]
    assert not Invocation.objects.filter(function=greeter).exists()

    roles.role_put_policy(
        role=role,
        name="invoke",
        document=roles.template_document("lambda-invoke", account_id=account, name="greeter"),
    )
    allowed = _execute(_queue(caller, {"target": "greeter"}))
    assert allowed.payload == {"status": 200, "payload": {"hello": "Ada"}}
    assert [(c["operation"], c["outcome"]) for c in allowed.service_calls] == [
        ("Invoke", "allowed")
    ]
    (called,) = Invocation.objects.filter(function=greeter)
    # The owner's invocation, as from the console or their own key; one deeper in the chain.
    assert called.requested_by == caller.owner and called.status == Invocation.Status.SUCCESS
    assert api_services.invocation_chain_depth(invocation_id=called.pk) == 1

    queued = _execute(_queue(caller, {"target": arn, "type": "Event"}))
    assert queued.payload == {"status": 202, "payload": None}
    event = AsyncEvent.objects.get(function=greeter)
    assert event.requested_by == caller.owner and event.depth == 1
    assert event.current is not None
    assert invocation_wait_finished(invocation_id=event.current.pk, timeout_s=60)
    event.current.refresh_from_db()
    assert event.current.payload == {"hello": "Ada"}


def test_another_learners_function_is_not_found_even_with_every_resource_allowed(lab):
    caller = FunctionFactory(code=CALLER, name="caller")
    theirs = FunctionFactory(code=GREETER, name="theirs")
    mine = FunctionFactory(code=GREETER, name="mine", owner=caller.owner)
    account, their_account = account_for(caller.owner), account_for(theirs.owner)
    roles.role_put_policy(
        role=roles.function_role(caller),
        name="everything",
        document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}],
        },
    )
    their_arn = f"arn:aws:lambda:us-east-1:{their_account}:function:theirs"
    for target in (their_arn, "theirs"):
        found = _execute(_queue(caller, {"target": target}))
        assert found.payload["code"] == "ResourceNotFoundException", found.payload
    assert not Invocation.objects.filter(function=theirs).exists()

    listed = _execute(_queue(caller, {"list": True, "target": "mine"}))
    assert listed.payload == {
        "names": ["caller", "mine"],
        "got": f"arn:aws:lambda:us-east-1:{account}:function:mine",
    }
    assert [c["operation"] for c in listed.service_calls] == ["ListFunctions", "GetFunction"]
    assert not Invocation.objects.filter(function=mine).exists()


def test_a_chain_of_invokes_is_stopped_as_a_recursive_loop(lab):
    caller = FunctionFactory(code=CALLER, name="caller")
    account = account_for(caller.owner)
    roles.role_put_policy(
        role=roles.function_role(caller),
        name="invoke",
        document=roles.template_document("lambda-invoke", account_id=account, name="caller"),
    )
    invocation = _queue(caller, {"target": "caller"})
    # As if this invocation were the last one a chain of handlers' invokes may start.
    api_services.invocation_chain_note(
        invocation_id=invocation.pk, depth=api_services.INVOKE_CHAIN_DEPTH - 1
    )
    stopped = _execute(invocation)
    assert stopped.payload["code"] == "RecursiveInvocationException"
    assert "recursive loop" in stopped.payload["message"]
    assert Invocation.objects.filter(function=caller).count() == 1


def test_a_synchronous_invoke_waits_no_longer_than_the_callers_timeout(lab, monkeypatch):
    from sandbox.api import views

    caller = FunctionFactory(code=CALLER, name="caller")
    FunctionFactory(code=GREETER, name="greeter", owner=caller.owner, timeout_s=60)
    roles.role_put_policy(
        role=roles.function_role(caller),
        name="invoke",
        document=roles.template_document(
            "lambda-invoke", account_id=account_for(caller.owner), name="greeter"
        ),
    )
    waits: list[float] = []

    def wait(*, invocation_id: int, timeout_s: float) -> bool:
        waits.append(timeout_s)
        return False  # no worker runs the callee here: it stays queued

    monkeypatch.setattr(views, "invocation_wait_finished", wait)
    invocation = _queue(caller, {"target": "greeter"})
    invocation.config = {**invocation.config, "timeout_s": 4}
    invocation.save(update_fields=["config"])
    result = execution.invocation_execute(invocation_id=invocation.pk, worker="test")
    assert result is not None
    # The callee may take 60 s (and its queue wait); the caller's handler only has 4.
    assert waits == [4.0]
    assert result.service_calls[0]["operation"] == "Invoke"
