"""A function invoked through the API invokes another from its handler: both run on the same
real Celery worker, the caller's handler waiting for the callee through the lab's gateway."""

import time

import pytest

from sandbox.aws import roles
from sandbox.aws.accounts import account_for
from sandbox.models import Function, Invocation
from tests.sandbox.api.conftest import create_hello

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CALLER = """
import json

import boto3

lam = boto3.client("lambda")

def lambda_handler(event, context):
    answer = lam.invoke(FunctionName="hello", Payload=json.dumps({"name": context.function_name}))
    return {"callee": json.loads(answer["Payload"].read()), "version": answer["ExecutedVersion"]}
"""


def test_a_handler_waits_for_the_function_it_invokes_on_the_same_worker(
    celery_worker_process, lam, learner, moto_server
):
    create_hello(lam)
    create_hello(lam, name="caller", source=CALLER, Timeout=30)
    caller = Function.objects.get(owner=learner, name="caller")
    roles.role_put_policy(
        role=roles.function_role(caller),
        name="invoke",
        document=roles.template_document(
            "lambda-invoke", account_id=account_for(learner), name="hello"
        ),
    )
    # Asynchronously: the caller's own result is read from its record. (A synchronous API
    # invoke of a caller that invokes another sometimes answers "still running" before the
    # caller has finished; that wait is a known bug, not what this test is about.)
    assert (
        lam.invoke(FunctionName="caller", InvocationType="Event", Payload=b"{}")["StatusCode"]
        == 202
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run = Invocation.objects.filter(function=caller).exclude(status__in=Invocation.PENDING)
        if run.exists():
            break
        time.sleep(0.2)
    done = Invocation.objects.get(function=caller)
    assert done.status == Invocation.Status.SUCCESS, (done.error, done.log)
    assert done.payload == {"callee": {"hello": "caller"}, "version": "$LATEST"}
    ran = Invocation.objects.filter(requested_by=learner).values_list("function__name", flat=True)
    assert sorted(ran) == ["caller", "hello"]
