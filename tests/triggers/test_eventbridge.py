"""EventBridge rules with event patterns and schedules fired by Celery beat's task."""

import json
from datetime import timedelta

from django.utils import timezone

from sandbox.aws.clients import lab_client
from sandbox.models import Invocation
from sandbox.triggers import services, tasks
from sandbox.triggers.models import InvocationTrigger, Trigger
from tests.sandbox.api.conftest import create_hello
from tests.sandbox.factories import FunctionFactory
from tests.triggers.test_push import ECHO, finished


def test_a_rule_invokes_the_function_with_each_matching_event(
    celery_worker_process, lam, learner, account
):
    events = lab_client("events", account_id=account)
    events.create_event_bus(Name="orders")
    create_hello(lam, "on-order", source=ECHO)
    function = learner.sandbox_functions.get(name="on-order")
    services.rule_trigger_create(
        function=function,
        rule="big-orders",
        bus_name="orders",
        event_pattern=json.dumps({"source": ["shop"], "detail-type": ["OrderPlaced"]}),
    )
    entries = [
        {"Source": "shop", "DetailType": "OrderPlaced", "Detail": '{"id": 1}'},
        {"Source": "shop", "DetailType": "OrderCancelled", "Detail": '{"id": 2}'},
        {"Source": "elsewhere", "DetailType": "OrderPlaced", "Detail": '{"id": 3}'},
    ]
    events.put_events(Entries=[dict(entry, EventBusName="orders") for entry in entries])
    (run,) = finished("on-order", 1)
    event = run.payload
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "shop",
        "OrderPlaced",
        {"id": 1},
    )
    assert event["account"] == account and event["region"] == "us-east-1"
    assert {"version", "id", "time", "resources"} <= set(event)
    assert run.trigger.kind == "events"


def test_a_due_schedule_fires_once_however_many_ticks_run(learner, account):
    function = FunctionFactory(owner=learner)
    trigger = services.schedule_trigger_create(
        function=function, rule="every-minute", expression="rate(1 minute)"
    )
    due = trigger.next_due
    assert due is not None and due > timezone.now()
    assert services.schedules_fire(now=due - timedelta(seconds=1)) == 0
    assert services.schedules_fire(now=due) == 1
    assert services.schedules_fire(now=due) == 0  # a second tick at the same minute
    assert services.schedules_fire(now=due + timedelta(seconds=30)) == 0
    trigger.refresh_from_db()
    assert trigger.next_due == due + timedelta(minutes=1)
    (fired,) = InvocationTrigger.objects.filter(invocation__function=function)
    event = json.loads(fired.invocation.event)
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == due.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert event["resources"] == [f"arn:aws:events:us-east-1:{account}:rule/every-minute"]
    assert event["detail"] == {}
    # The rule is in the learner's account too, with its schedule.
    rule = lab_client("events", account_id=account).describe_rule(Name="every-minute")
    assert rule["ScheduleExpression"] == "rate(1 minute)"


def test_the_beat_task_runs_a_due_schedule_on_the_worker(celery_worker_process, lam, learner):
    create_hello(lam, "nightly", source=ECHO)
    function = learner.sandbox_functions.get(name="nightly")
    trigger = services.schedule_trigger_create(
        function=function, rule="nightly", expression="cron(0 3 * * ? *)"
    )
    Trigger.objects.filter(pk=trigger.pk).update(next_due=timezone.now() - timedelta(minutes=1))
    tasks.schedules_fire.delay()
    (run,) = finished("nightly", 1)
    assert run.status == Invocation.Status.SUCCESS
    assert run.payload["detail-type"] == "Scheduled Event"
    trigger.refresh_from_db()
    assert trigger.next_due is not None and trigger.next_due.hour == 3
