"""An SQS mapping's pollers scale no further than the function's concurrency."""

import pytest
from django.test import override_settings

from sandbox.triggers import leases, services
from sandbox.triggers.models import EventSourceMapping
from tests.sandbox.factories import FunctionFactory

pytestmark = pytest.mark.django_db


def mapping_of(function) -> EventSourceMapping:
    # Made directly: these tests look at the limits, not at a queue.
    return EventSourceMapping.objects.create(
        function=function, event_source_arn="arn:aws:sqs:us-east-1:210987654321:q"
    )


@override_settings(TRIGGERS_SQS_MAX_POLLERS=5, SANDBOX_LEARNER_CONCURRENCY=3)
def test_slots_follow_the_functions_concurrency():
    assert services.poller_slots(mapping_of(FunctionFactory(reserved_concurrency=2))) == 2
    assert services.poller_slots(mapping_of(FunctionFactory(reserved_concurrency=9))) == 5
    assert services.poller_slots(mapping_of(FunctionFactory())) == 3  # the learner's share
    assert services.poller_slots(mapping_of(FunctionFactory(reserved_concurrency=0))) == 0


@override_settings(TRIGGERS_SQS_MAX_POLLERS=5)
def test_no_poller_starts_past_the_reservation(redis_url):
    mapping = mapping_of(FunctionFactory(reserved_concurrency=1))
    name = f"esm:{mapping.pk}:1"
    assert services.poller_start(mapping_id=mapping.pk, slot=1) is False
    assert not leases.lease_held(name=name)
    throttled = mapping_of(FunctionFactory(reserved_concurrency=0))
    assert services.poller_start(mapping_id=throttled.pk, slot=0) is False


def test_a_pollers_links_go_to_its_functions_worker_or_the_shared_queue(redis_url):
    from unittest import mock

    from kombu.exceptions import OperationalError

    from sandbox import routing
    from sandbox.triggers import tasks

    mapping = mapping_of(FunctionFactory())
    owner = routing.worker_for(
        key=routing.routing_key(function_id=mapping.function_id), workers=["a@h", "b@h"]
    )
    with (
        mock.patch.object(routing, "live_workers", return_value=["a@h", "b@h"]),
        mock.patch.object(tasks.sqs_poll, "apply_async") as send,
    ):
        assert services.poller_start(mapping_id=mapping.pk, slot=0) is True
        token = send.call_args.args[0][2]  # a signature sends its args positionally
        assert services.poller_continue(mapping_id=mapping.pk, slot=0, token=token, delay=2.0)
    first, after = send.call_args_list
    assert tuple(first.args[0]) == (mapping.pk, 0, token)
    assert first.kwargs["queue"] == first.kwargs["routing_key"] == f"sandbox.{owner}"
    assert after.kwargs["queue"] == f"sandbox.{owner}" and after.kwargs["countdown"] == 2.0
    # No live worker known: the shared queue, which any worker takes.
    with (
        mock.patch.object(routing, "live_workers", return_value=[]),
        mock.patch.object(tasks.sqs_poll, "apply_async") as send,
    ):
        assert services.poller_continue(mapping_id=mapping.pk, slot=0, token=token, delay=0)
    assert send.call_args.kwargs["queue"] == "sandbox"
    # A broker that refuses the first link leaves no lease behind to block the watchdog.
    leases.lease_release(name=f"esm:{mapping.pk}:0", token=token)
    with mock.patch.object(tasks.sqs_poll, "apply_async", side_effect=OperationalError("no")):
        assert services.poller_start(mapping_id=mapping.pk, slot=0) is False
    assert not leases.lease_held(name=f"esm:{mapping.pk}:0")
