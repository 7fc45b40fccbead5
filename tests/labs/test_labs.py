"""Labs set up resources, a role and a trigger in a learner's own lab account, fire them with
real steps and check what the handler left: against the real moto server and a real worker."""

import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from sandbox import labs
from sandbox import services as sandbox_services
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import lab_client
from sandbox.aws.models import ExecutionRole
from sandbox.triggers.models import Trigger

RECORDER = """import os, boto3, urllib.parse

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])

def handler(event, context):
    for record in event["Records"]:
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        table.put_item(Item={"key": key, "size": record["s3"]["object"]["size"]})
    return {"recorded": len(event["Records"])}
"""

LAB: dict[str, Any] = {
    "buckets": ["uploads-{account}"],
    "tables": [{"name": "sizes", "key": "key"}],
    "role": [
        {"template": "s3-read", "resource": "uploads-{account}"},
        {"template": "dynamodb-crud", "resource": "sizes"},
    ],
    "trigger": {"s3": {"bucket": "uploads-{account}", "suffix": ".txt"}},
    "environment": {"TABLE": "sizes"},
}
STEPS = [{"put_object": {"bucket": "uploads-{account}", "key": "notes/a.txt", "body": "hello"}}]
EXPECT = [
    {"item": {"table": "sizes", "key": {"key": "notes/a.txt"}, "attributes": {"size": 5}}},
    {"invocations": {"count": 1, "status": "success"}},
]


def settle(function, expect, since, *, timeout_s: float = 40) -> labs.Outcome:
    """The outcome once it has settled, or the last one seen when timeout_s ran out."""
    deadline = time.monotonic() + timeout_s
    while True:
        outcome = labs.outcome(function=function, expect=expect, since=since)
        if outcome.settled or time.monotonic() > deadline:
            return outcome
        time.sleep(0.3)


def recorder(owner: User, name: str = "recorder"):
    return sandbox_services.function_create(
        owner=owner, name=name, handler="app.handler", files={"app.py": RECORDER}, events={}
    )


@pytest.mark.parametrize(
    ("lab", "message"),
    [
        ({"buckets": ["photos"]}, "bucket names are global"),
        ({"trigger": {"kinesis": {}}}, "lab.trigger is one of"),
        ({"role": [{"template": "admin", "resource": "x"}]}, "role template 'admin'"),
        ({"tables": [{"name": "t"}]}, "a table needs key"),
        ({"steps": [{"upload": {}}]}, "no 'upload'"),
        ({"steps": [{"put_object": {"bucket": "b-{account}"}}]}, "needs key"),
        ({"expect": [{"items": {"table": "t", "count": -1}}]}, "count must be a whole number"),
        ({"wait_s": 600}, "wait_s must be"),
        ({"queues": [{"name": "q", "colour": "red"}]}, "unknown keys colour"),
    ],
)
def test_a_malformed_lab_is_refused_with_the_problem(lab, message) -> None:
    with pytest.raises(labs.LabError, match=message):
        labs.lab_check(lab)


def test_a_challenges_lab_cannot_use_what_needs_a_learner_at_the_page() -> None:
    with pytest.raises(labs.LabError, match="function URL"):
        labs.lab_check({"trigger": {"url": {"auth": "NONE"}}}, for_challenge=True)
    with pytest.raises(labs.LabError, match="cannot use invoke"):
        labs.steps_check([{"invoke": {"event": {}}}], for_challenge=True)
    with pytest.raises(labs.LabError, match="unknown keys steps"):
        labs.lab_check({"steps": STEPS}, for_challenge=True)
    labs.lab_check(LAB, for_challenge=True)


def test_a_lab_runs_through_the_real_trigger_in_the_learners_account(
    celery_worker_process, learner, moto_server
) -> None:
    function = recorder(learner)
    labs.lab_apply(function=function, lab=LAB)
    account = account_for(learner)
    function.refresh_from_db()
    assert function.environment == {"TABLE": "sizes"}
    assert ExecutionRole.objects.get(owner=learner, name="recorder-role").policies.count() == 2
    (trigger,) = Trigger.objects.filter(function=function)
    assert trigger.source_arn == f"arn:aws:s3:::uploads-{account}"

    since = timezone.now()
    labs.steps_run(function=function, steps=STEPS)
    outcome = settle(function, EXPECT, since)
    assert outcome.settled, outcome.problems

    # A key the trigger filters out invokes nothing, and the expectations say what is wrong.
    since = timezone.now()
    labs.steps_run(
        function=function,
        steps=[{"put_object": {"bucket": "uploads-{account}", "key": "b.csv", "body": "x"}}],
    )
    time.sleep(2)
    outcome = labs.outcome(
        function=function,
        expect=[
            {"item": {"table": "sizes", "key": {"key": "b.csv"}}},
            {"item": {"table": "sizes", "key": {"key": "notes/a.txt"}, "attributes": {"size": 6}}},
            {"invocations": {"count": 1}},
        ],
        since=since,
    )
    assert outcome.problems == [
        "no item key=b.csv in the table sizes",
        "item key=notes/a.txt: size is 5, expected 6",
        "0 invocations since the steps began, expected 1",
    ]


def test_applying_again_keeps_the_contents_and_empty_empties_them(learner, moto_server) -> None:
    function = recorder(learner)
    labs.lab_apply(function=function, lab=LAB)
    account = account_for(learner)
    dynamodb = lab_client("dynamodb", account_id=account)
    s3 = lab_client("s3", account_id=account)
    dynamodb.put_item(TableName="sizes", Item={"key": {"S": "kept"}})
    s3.put_object(Bucket=f"uploads-{account}", Key="kept.txt", Body=b"x")

    labs.lab_apply(function=function, lab=LAB)
    assert dynamodb.scan(TableName="sizes", Select="COUNT")["Count"] == 1
    assert Trigger.objects.filter(function=function).count() == 1  # replaced, not added

    labs.lab_apply(function=function, lab=LAB, empty=True)
    assert dynamodb.scan(TableName="sizes", Select="COUNT")["Count"] == 0
    assert s3.list_objects_v2(Bucket=f"uploads-{account}").get("KeyCount", 0) == 0


def test_a_step_the_services_refuse_names_the_step(learner, moto_server) -> None:
    function = recorder(learner)
    with pytest.raises(
        labs.LabError, match=r"Step 1 \(upload a.txt to nowhere-\d+\) failed: NoSuchBucket"
    ):
        labs.steps_run(
            function=function,
            steps=[{"put_object": {"bucket": "nowhere-{account}", "key": "a.txt"}}],
        )


def test_two_learners_labs_are_apart(learner, moto_server) -> None:
    other = User.objects.create_user("other-lab-learner")
    mine, theirs = recorder(learner), recorder(other)
    labs.lab_apply(function=mine, lab=LAB)
    labs.lab_apply(function=theirs, lab=LAB)
    a, b = account_for(learner), account_for(other)
    assert a != b
    lab_client("dynamodb", account_id=a).put_item(TableName="sizes", Item={"key": {"S": "a"}})
    # The same lab in B's account: its own table (empty), its own bucket.
    assert lab_client("dynamodb", account_id=b).scan(TableName="sizes")["Count"] == 0
    assert f"uploads-{a}" not in [
        bucket["Name"] for bucket in lab_client("s3", account_id=b).list_buckets()["Buckets"]
    ]
    outcome = labs.outcome(
        function=theirs, expect=[{"items": {"table": "sizes", "count": 0}}], since=timezone.now()
    )
    assert outcome.problems == []
    # S3's test event for the new notification waits in B's trigger queue (no worker runs
    # here to relay it): it counts as on its way to the handler.
    assert outcome.pending == 1


def test_a_triggers_backlog_counts_as_on_its_way(learner, moto_server) -> None:
    function = recorder(learner)
    labs.lab_apply(
        function=function,
        lab={"queues": [{"name": "jobs"}], "trigger": {"sqs": {"queue": "jobs"}}},
    )
    since = timezone.now()
    assert labs.outcome(
        function=function, expect=[{"invocations": {"count": 0}}], since=since
    ).settled
    labs.steps_run(function=function, steps=[{"send_message": {"queue": "jobs", "body": "x"}}])
    outcome = labs.outcome(function=function, expect=[{"invocations": {"count": 0}}], since=since)
    assert (outcome.problems, outcome.pending) == ([], 1)  # not settled: the message waits


def test_emptying_the_lab_ends_what_is_left_of_an_earlier_run(learner, moto_server) -> None:
    from sandbox.api import services as api_services
    from sandbox.api.models import AsyncEvent
    from sandbox.models import Invocation

    function = recorder(learner)
    labs.lab_apply(function=function, lab=LAB)
    queued = api_services.async_invoke(function=function, requested_by=learner, event_text="{}")
    labs.lab_apply(function=function, lab=LAB, empty=True)
    event = AsyncEvent.objects.get(pk=queued.pk)
    assert event.status == AsyncEvent.Status.FAILED  # no retry of it will run the new code
    assert "set up again" in event.destination_note
    assert queued.current is not None
    assert Invocation.objects.get(pk=queued.current.pk).status == Invocation.Status.STOPPED
