"""Retries of a triggered asynchronous invocation keep the trigger that started it."""

from typing import Any

import pytest

from sandbox.api.models import AsyncEvent
from sandbox.aws.clients import lab_client
from sandbox.models import Invocation
from sandbox.triggers import services
from tests.sandbox.api.conftest import create_hello
from tests.triggers.conftest import eventually

FAILING = "def lambda_handler(event, context):\n    raise ValueError('cannot resize')\n"


@pytest.fixture
def fast_worker(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A worker whose asynchronous retries wait 0.2 s then 0.4 s, not 1 then 2 minutes."""
    monkeypatch.setenv("SANDBOX_API_ASYNC_RETRY_DELAYS", "0.2,0.4")
    return request.getfixturevalue("celery_worker_process")


def test_each_retry_of_an_s3_triggered_invocation_records_the_s3_trigger(
    fast_worker, lam, learner, account
):
    s3 = lab_client("s3", account_id=account)
    bucket = f"retried-{account}"
    s3.create_bucket(Bucket=bucket)
    create_hello(lam, "resizer", source=FAILING)
    function = learner.sandbox_functions.get(name="resizer")
    services.s3_trigger_create(function=function, bucket=bucket)
    s3.put_object(Bucket=bucket, Key="big.png", Body=b"png")

    event = eventually(
        lambda: AsyncEvent.objects.filter(
            function=function, status=AsyncEvent.Status.FAILED
        ).first(),
        what="the event's retries to run out",
    )
    attempts = list(event.attempts.select_related("trigger").order_by("pk"))
    assert [a.status for a in attempts] == [Invocation.Status.ERROR] * 3
    labels = [(a.trigger.kind, a.trigger.source_arn, a.trigger.depth) for a in attempts]
    assert labels == [("s3", f"arn:aws:s3:::{bucket}", 1)] * 3
