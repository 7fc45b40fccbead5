"""Asynchronous invocations through boto3: event invoke configs, retries and destinations."""

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from sandbox.api import services, tasks
from sandbox.api.models import AsyncEvent
from sandbox.aws.accounts import account_for
from sandbox.models import Invocation
from tests.sandbox.api.conftest import create_hello

pytestmark = pytest.mark.django_db(transaction=True)

FAILING = "def lambda_handler(event, context):\n    raise ValueError('no ' + event['what'])\n"
SINK = (
    "import json\n"
    "def lambda_handler(event, context):\n"
    "    print(json.dumps(event))\n"
    "    return 'noted'\n"
)
OTHER = "arn:aws:lambda:us-east-1:999956789012:function:"
PLACEHOLDER = "arn:aws:lambda:us-east-1:123456789012:function:"


def arn_prefix(user: Any) -> str:
    """The start of the ARNs of user's functions: their lab account's."""
    return f"arn:aws:lambda:us-east-1:{account_for(user)}:function:"


def code_of(error: Any) -> str:
    return error.value.response["Error"]["Code"]


def test_event_invoke_configs(lam, learner):
    arn = arn_prefix(learner)
    create_hello(lam)
    create_hello(lam, name="sink", source=SINK)
    lam.publish_version(FunctionName="hello")
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as missing:
        lam.get_function_event_invoke_config(FunctionName="hello")
    assert "doesn't have an EventInvokeConfig" in str(missing.value)

    put = lam.put_function_event_invoke_config(
        FunctionName="hello",
        MaximumRetryAttempts=1,
        MaximumEventAgeInSeconds=120,
        DestinationConfig={"OnFailure": {"Destination": arn + "sink"}},
    )
    assert put["FunctionArn"] == arn + "hello:$LATEST"
    assert (put["MaximumRetryAttempts"], put["MaximumEventAgeInSeconds"]) == (1, 120)
    assert put["DestinationConfig"] == {
        "OnSuccess": {},
        "OnFailure": {"Destination": arn + "sink"},
    }
    assert put["LastModified"].year == timezone.now().year  # boto3 parsed a timestamp

    # Update changes only what it is given; Put replaces all of it.
    updated = lam.update_function_event_invoke_config(FunctionName="hello", MaximumRetryAttempts=0)
    assert updated["MaximumRetryAttempts"] == 0 and updated["MaximumEventAgeInSeconds"] == 120
    assert updated["DestinationConfig"]["OnFailure"] == {"Destination": arn + "sink"}
    replaced = lam.put_function_event_invoke_config(FunctionName="hello", MaximumRetryAttempts=2)
    assert replaced["MaximumEventAgeInSeconds"] == 21600
    assert replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}

    lam.put_function_event_invoke_config(FunctionName="hello", Qualifier="1")
    listed = lam.list_function_event_invoke_configs(FunctionName="hello")
    arns = [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]]
    assert arns == [arn + "hello:$LATEST", arn + "hello:1"]
    page = lam.list_function_event_invoke_configs(FunctionName="hello", MaxItems=1)
    assert len(page["FunctionEventInvokeConfigs"]) == 1 and page["NextMarker"]

    lam.delete_function_event_invoke_config(FunctionName="hello", Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName="hello", Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_function_event_invoke_config(
            FunctionName="hello", Qualifier="1", MaximumRetryAttempts=1
        )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_event_invoke_config(FunctionName="hello", Qualifier="9")


@pytest.mark.parametrize(
    "params",
    [
        {"MaximumRetryAttempts": 3},
        {"MaximumEventAgeInSeconds": 21601},
        {"DestinationConfig": {"OnFailure": {"Destination": "not-an-arn"}}},
        {"DestinationConfig": {"OnSuccess": {"Destination": "{own}hello"}}},
        {"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:1:q"}}},
        # A queue of another account than the learner's lab account.
        {
            "DestinationConfig": {
                "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:" + "4" * 12 + ":q"}
            }
        },
        {
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": "arn:aws:events:us-east-1:" + "4" * 12 + ":event-bus/b"
                }
            }
        },
        # A function of another account, the documentation's placeholder one included.
        {"DestinationConfig": {"OnSuccess": {"Destination": OTHER + "x"}}},
        {"DestinationConfig": {"OnSuccess": {"Destination": PLACEHOLDER + "sink"}}},
    ],
)
def test_bad_event_invoke_configs_are_invalid_parameters(lam, learner, params):
    create_hello(lam)
    create_hello(lam, name="sink", source=SINK)
    params = json.loads(json.dumps(params).replace("{own}", arn_prefix(learner)))
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_event_invoke_config(FunctionName="hello", **params)


def test_another_learners_configs_are_out_of_reach(lam, lambda_client_for, other_learner):
    create_hello(lam)
    lam.put_function_event_invoke_config(FunctionName="hello", MaximumRetryAttempts=0)
    other = lambda_client_for(other_learner)
    for call in (
        other.get_function_event_invoke_config,
        other.delete_function_event_invoke_config,
        other.list_function_event_invoke_configs,
    ):
        with pytest.raises(other.exceptions.ResourceNotFoundException):
            call(FunctionName="hello")
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.put_function_event_invoke_config(FunctionName="hello", MaximumRetryAttempts=2)


def test_an_async_payload_may_be_1_mb(lam):
    create_hello(lam)
    with pytest.raises(lam.exceptions.RequestTooLargeException) as excinfo:
        lam.invoke(
            FunctionName="hello", InvocationType="Event", Payload=b'"' + b"x" * 1024 * 1024 + b'"'
        )
    assert "Event invocation type (1048576 byte maximum)" in str(excinfo.value)


# ---------------------------------------------------------------- with a worker


@pytest.fixture
def fast_worker(monkeypatch, request):
    """A sandbox worker whose async retries wait 0.2 s then 0.4 s instead of 1 then 2 minutes."""
    monkeypatch.setenv("SANDBOX_API_ASYNC_RETRY_DELAYS", "0.2,0.4")
    monkeypatch.setenv("SANDBOX_API_ASYNC_THROTTLE_BACKOFF", "0.2,0.4")
    return request.getfixturevalue("celery_worker_process")


def finished_invocations(name: str, count: int, seconds: float = 90) -> list[Invocation]:
    """Wait for count finished invocations of the function called name, oldest first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = list(
            Invocation.objects.filter(function__name=name)
            .exclude(status__in=Invocation.PENDING)
            .order_by("pk")
        )
        if len(done) >= count:
            return done
        time.sleep(0.2)
    pytest.fail(f"{name} has {len(done)} finished invocations, not {count}, after {seconds} s")


def settled(request_id: str, seconds: float = 30) -> AsyncEvent:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = AsyncEvent.objects.get(request_id=request_id)
        if event.status != AsyncEvent.Status.QUEUED:
            return event
        time.sleep(0.2)
    pytest.fail(f"the asynchronous invocation {request_id} did not finish")


@pytest.mark.integration
def test_async_retries_reach_the_failure_destination(fast_worker, lam, learner):
    arn = arn_prefix(learner)
    create_hello(lam, name="failing", source=FAILING)
    create_hello(lam, name="sink", source=SINK)
    lam.put_function_event_invoke_config(
        FunctionName="failing", DestinationConfig={"OnFailure": {"Destination": arn + "sink"}}
    )
    queued = lam.invoke(FunctionName="failing", InvocationType="Event", Payload=b'{"what": "luck"}')
    assert queued["StatusCode"] == 202
    request_id = queued["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    (delivered,) = finished_invocations("sink", 1)
    attempts = finished_invocations("failing", 3)
    assert len(attempts) == 3 and {a.status for a in attempts} == {Invocation.Status.ERROR}
    # The retries are the learner's own invocations, counted like any other.
    assert {a.requested_by for a in attempts} == {learner} == {delivered.requested_by}
    record = json.loads(delivered.event)
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": arn + "failing:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"what": "luck"}
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "no luck"
    assert delivered.status == Invocation.Status.SUCCESS
    assert '"condition": "RetriesExhausted"' in delivered.log  # the sink printed what it got
    assert settled(request_id).status == AsyncEvent.Status.FAILED


@pytest.mark.integration
def test_no_retries_and_a_success_destination(fast_worker, lam, learner):
    arn = arn_prefix(learner)
    create_hello(lam, name="failing", source=FAILING)
    create_hello(lam)
    create_hello(lam, name="sink", source=SINK)
    lam.put_function_event_invoke_config(FunctionName="failing", MaximumRetryAttempts=0)
    lam.put_function_event_invoke_config(
        FunctionName="hello", DestinationConfig={"OnSuccess": {"Destination": arn + "sink"}}
    )
    failed = lam.invoke(FunctionName="failing", InvocationType="Event", Payload=b'{"what": "x"}')
    ok = lam.invoke(FunctionName="hello", InvocationType="Event", Payload=b'{"name": "Ada"}')

    (delivered,) = finished_invocations("sink", 1)
    record = json.loads(delivered.event)
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"hello": "Ada"}
    failed_id = failed["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert settled(failed_id).invoke_count == 1
    ok_id = ok["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert settled(ok_id).status == AsyncEvent.Status.SUCCEEDED
    assert Invocation.objects.filter(function__name="failing").count() == 1


@pytest.mark.integration
def test_an_async_invoke_through_an_alias_names_it_in_the_handlers_context(
    fast_worker, lam, learner
):
    arn = arn_prefix(learner)
    source = "def lambda_handler(event, context):\n    return context.invoked_function_arn\n"
    create_hello(lam, name="whoami", source=source)
    create_hello(lam, name="sink", source=SINK)
    lam.publish_version(FunctionName="whoami")
    lam.create_alias(FunctionName="whoami", Name="live", FunctionVersion="1")
    lam.put_function_event_invoke_config(
        FunctionName="whoami",
        Qualifier="live",
        DestinationConfig={"OnSuccess": {"Destination": arn + "sink"}},
    )
    lam.invoke(FunctionName="whoami", Qualifier="live", InvocationType="Event", Payload=b"{}")
    (delivered,) = finished_invocations("sink", 1)
    record = json.loads(delivered.event)
    assert record["requestContext"]["functionArn"] == arn + "whoami:live"
    assert record["responsePayload"] == arn + "whoami:live"


# ---------------------------------------------------------------- the services, step by step


@pytest.fixture
def scheduled(monkeypatch) -> list[tuple[tuple[int, int, int], float]]:
    """The retries the services schedule, instead of sending them to Celery."""
    sent: list[tuple[tuple[int, int, int], float]] = []
    monkeypatch.setattr(
        tasks.async_event_retry,
        "apply_async",
        lambda args, kwargs=None, countdown=None, **options: sent.append((tuple(args), countdown)),
    )
    monkeypatch.setattr("sandbox.tasks.invocation_run.delay", lambda pk: None)
    return sent


def _queued(lam, learner, name: str = "hello") -> AsyncEvent:
    answer = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"what": "x"}')
    return AsyncEvent.objects.get(
        request_id=answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    )


def _finish_attempt(event: AsyncEvent, status: str) -> None:
    Invocation.objects.filter(pk=event.current_id).update(
        status=status, error={"errorType": "ValueError", "errorMessage": "no x"}
    )


def test_a_function_error_waits_lambdas_delays_then_gives_up(lam, learner, scheduled):
    create_hello(lam, source=FAILING)
    event = _queued(lam, learner)
    for attempt, delay in ((1, 60.0), (2, 120.0)):
        _finish_attempt(event, Invocation.Status.ERROR)
        services.async_event_attempt_finished(invocation_id=event.current_id)
        assert scheduled[-1] == ((event.pk, attempt, 0), delay)
        # Heard twice, the news changes nothing.
        assert services.async_event_attempt_finished(invocation_id=event.current_id) is None
        services.async_event_retry(event_id=event.pk, invoke_count=attempt, throttles=0)
        # A retry delivered twice starts one attempt.
        assert (
            services.async_event_retry(event_id=event.pk, invoke_count=attempt, throttles=0) is None
        )
        event.refresh_from_db()
        assert event.attempts.count() == attempt + 1
    _finish_attempt(event, Invocation.Status.TIMEOUT)
    services.async_event_attempt_finished(invocation_id=event.current_id)
    event.refresh_from_db()
    assert (event.status, event.invoke_count, len(scheduled)) == ("failed", 3, 2)


def test_throttles_back_off_without_counting_and_count_toward_the_learners_rate(
    lam, learner, scheduled
):
    create_hello(lam)
    event = _queued(lam, learner)
    _finish_attempt(event, Invocation.Status.THROTTLED)
    services.async_event_attempt_finished(invocation_id=event.current_id)
    event.refresh_from_db()
    assert (event.invoke_count, event.throttles) == (0, 1)
    assert scheduled == [((event.pk, 0, 1), 1.0)]
    # The retry goes through the same limits as every invocation: past the learner's rate it
    # is throttled again, waits twice as long, and starts nothing.
    with override_settings(SANDBOX_USER_INVOCATIONS_PER_MINUTE=1):
        services.async_event_retry(event_id=event.pk, invoke_count=0, throttles=1)
    event.refresh_from_db()
    assert (event.throttles, event.attempts.count()) == (2, 1)
    assert scheduled[-1] == ((event.pk, 0, 2), 2.0)


def test_an_event_older_than_its_maximum_age_goes_to_on_failure(lam, learner, scheduled):
    arn = arn_prefix(learner)
    create_hello(lam, source=FAILING)
    create_hello(lam, name="sink", source=SINK)
    lam.put_function_event_invoke_config(
        FunctionName="hello",
        MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": arn + "sink"}},
    )
    event = _queued(lam, learner)
    _finish_attempt(event, Invocation.Status.ERROR)
    services.async_event_attempt_finished(invocation_id=event.current_id)
    later = timezone.now() + timedelta(seconds=61)
    services.async_event_retry(event_id=event.pk, invoke_count=1, throttles=0, now=later)
    event.refresh_from_db()
    assert event.status == AsyncEvent.Status.EXPIRED and event.attempts.count() == 1
    delivered = Invocation.objects.get(function__name="sink")
    record = json.loads(delivered.event)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["responsePayload"]["errorMessage"] == "no x"


def test_a_missing_destination_is_noted_not_raised(lam, learner, scheduled):
    arn = arn_prefix(learner)
    create_hello(lam)
    create_hello(lam, name="sink", source=SINK)
    lam.put_function_event_invoke_config(
        FunctionName="hello", DestinationConfig={"OnSuccess": {"Destination": arn + "sink"}}
    )
    lam.delete_function(FunctionName="sink")
    event = _queued(lam, learner)
    Invocation.objects.filter(pk=event.current_id).update(
        status=Invocation.Status.SUCCESS, payload="ok"
    )
    services.async_event_attempt_finished(invocation_id=event.current_id)
    event.refresh_from_db()
    assert event.status == AsyncEvent.Status.SUCCEEDED
    assert "does not exist" in event.destination_note


def test_records_reach_an_sqs_queue_and_an_sns_topic(lam, learner, scheduled, moto_server):
    from sandbox.aws.accounts import account_for
    from sandbox.aws.clients import lab_client

    account = account_for(learner)
    sqs = lab_client("sqs", account_id=account)
    sns = lab_client("sns", account_id=account)
    failures = sqs.create_queue(QueueName="failures")["QueueUrl"]
    notified = sqs.create_queue(QueueName="notified")["QueueUrl"]
    topic = sns.create_topic(Name="done")["TopicArn"]
    notified_arn = sqs.get_queue_attributes(QueueUrl=notified, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=notified_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    create_hello(lam, source=FAILING)
    lam.put_function_event_invoke_config(
        FunctionName="hello",
        MaximumRetryAttempts=0,
        DestinationConfig={
            "OnFailure": {"Destination": f"arn:aws:sqs:us-east-1:{account}:failures"},
            "OnSuccess": {"Destination": topic},
        },
    )
    failed = _queued(lam, learner)
    _finish_attempt(failed, Invocation.Status.ERROR)
    services.async_event_attempt_finished(invocation_id=failed.current_id)
    ok = _queued(lam, learner)
    Invocation.objects.filter(pk=ok.current_id).update(
        status=Invocation.Status.SUCCESS, payload={"done": True}
    )
    services.async_event_attempt_finished(invocation_id=ok.current_id)

    (message,) = sqs.receive_message(QueueUrl=failures, WaitTimeSeconds=1)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["requestId"] == str(failed.request_id)
    assert record["responsePayload"]["errorType"] == "ValueError"
    (message,) = sqs.receive_message(QueueUrl=notified, WaitTimeSeconds=1)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"done": True}
    failed.refresh_from_db()
    assert failed.destination_note == ""


def _die_mid_attempt(event: AsyncEvent) -> None:
    """The attempt's worker took it and died: running, long past its timeout, on a worker with
    no heartbeat (the sweep goes by the time when it has not yet seen the heartbeat missing)."""
    Invocation.objects.filter(pk=event.current_id).update(
        status=Invocation.Status.RUNNING,
        worker="gone@nowhere",
        started_at=timezone.now() - timedelta(hours=1),
    )


def test_an_attempt_whose_worker_died_is_retried_then_sent_to_on_failure(
    lam, learner, scheduled, redis_url
):
    from sandbox.worker import _sweep

    arn = arn_prefix(learner)
    create_hello(lam)
    create_hello(lam, name="sink", source=SINK)
    lam.put_function_event_invoke_config(
        FunctionName="hello", DestinationConfig={"OnFailure": {"Destination": arn + "sink"}}
    )
    event = _queued(lam, learner)
    for attempt, delay in ((1, 60.0), (2, 120.0)):
        _die_mid_attempt(event)
        _sweep()  # what every live sandbox worker's heartbeat runs
        event.refresh_from_db()
        assert (event.status, event.current_id, event.invoke_count) == ("queued", None, attempt)
        assert scheduled[-1] == ((event.pk, attempt, 0), delay)
        services.async_event_retry(event_id=event.pk, invoke_count=attempt, throttles=0)
        event.refresh_from_db()
    _die_mid_attempt(event)
    _sweep()
    event.refresh_from_db()
    assert (event.status, event.invoke_count, len(scheduled)) == ("failed", 3, 2)
    attempts = list(event.attempts.order_by("pk"))
    assert [a.status for a in attempts] == [Invocation.Status.FAILED] * 3
    assert all("sandbox worker stopped" in a.failure_reason for a in attempts)
    # The failure destination gets Lambda's record of it, as for any failed attempt.
    (delivered,) = AsyncEvent.objects.filter(function__name="sink")
    record = json.loads(delivered.event)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert "sandbox worker stopped" in record["responsePayload"]["errorMessage"]
    # Swept again, nothing more happens.
    _sweep()
    assert len(scheduled) == 2 and AsyncEvent.objects.filter(function__name="sink").count() == 1
