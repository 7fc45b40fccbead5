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
