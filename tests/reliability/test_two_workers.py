"""Two sandbox workers on this machine: each function stays on one of them (warm starts are
found again), and when one is SIGKILLed mid-burst its functions move to the other; every
invocation ends `success` or `failed` with a reason, none lost, none run twice."""

import json

import pytest

from sandbox import routing, services
from sandbox.models import Invocation
from tests.factories import UserFactory
from tests.reliability.conftest import finished, wait_until
from tests.sandbox.factories import FunctionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NAP = (
    "import time\n"
    "def lambda_handler(event, context):\n"
    "    time.sleep(event.get('sleep', 0))\n"
    "    return {'n': event.get('n')}\n"
)


def owner_of(function_id: int, workers: list[str]) -> str | None:
    return routing.worker_for(key=routing.routing_key(function_id=function_id), workers=workers)


def invoke(function, event: str) -> Invocation:
    return services.invocation_start(
        function=function, event_text=event, requested_by=function.owner
    )


def test_functions_stay_on_their_worker_and_move_when_it_dies(workers):
    doomed, survivor = workers(), workers()
    names = [doomed.name, survivor.name]
    assert routing.live_workers() == sorted(names)
    # Two functions owned by each worker (which one owns a function is the hash's choice).
    owned: dict[str, list] = {doomed.name: [], survivor.name: []}
    for _ in range(60):
        function = FunctionFactory(owner=UserFactory(), code=NAP, timeout_s=30)
        owner = owner_of(function.pk, names)
        if owner is not None and len(owned[owner]) < 2:
            owned[owner].append(function)
        if all(len(functions) == 2 for functions in owned.values()):
            break
    assert all(len(functions) == 2 for functions in owned.values()), owned

    # Each function's second invocation finds its first one's environment, on the same worker.
    for owner, functions in owned.items():
        for function in functions:
            first = finished(invoke(function, '{"n": 1}'))
            second = finished(invoke(function, '{"n": 2}'))
            assert first.status == second.status == Invocation.Status.SUCCESS
            assert first.worker == second.worker == owner
            assert first.cold_start is True and second.cold_start is False
            assert second.environment_id == first.environment_id

    # A burst over all four functions; the doomed worker is killed while its share runs.
    burst = [
        invoke(function, f'{{"n": {n}, "sleep": 3}}')
        for n in range(3)
        for functions in owned.values()
        for function in functions
    ]

    def doomed_is_running() -> bool:
        return Invocation.objects.filter(
            pk__in=[i.pk for i in burst], worker=doomed.name, status=Invocation.Status.RUNNING
        ).exists()

    wait_until("the doomed worker to run part of the burst", doomed_is_running)
    doomed.kill()
    # Sent at once, most likely still to the dead worker's queue: re-routed by the survivor.
    after = [invoke(function, '{"n": 9}') for function in owned[doomed.name]]

    for invocation in burst + after:
        finished(invocation)
        assert invocation.status in (Invocation.Status.SUCCESS, Invocation.Status.FAILED)
        if invocation.status == Invocation.Status.FAILED:
            assert "sandbox worker stopped" in invocation.failure_reason
        else:
            assert invocation.payload == {"n": json.loads(invocation.event)["n"]}
    # The dead worker's functions now run on the survivor; the survivor's own stayed warm.
    for invocation in after:
        assert invocation.status == Invocation.Status.SUCCESS, invocation.failure_reason
        assert invocation.worker == survivor.name
    for function in owned[doomed.name]:
        assert finished(invoke(function, "{}")).worker == survivor.name
    for function in owned[survivor.name]:
        later = finished(invoke(function, "{}"))
        assert later.worker == survivor.name and later.cold_start is False
    # Nothing lost or doubled: one row per request, each finished once.
    total = len(burst) + len(after) + 4 + 8
    assert Invocation.objects.count() == total
    assert not Invocation.objects.filter(status__in=Invocation.PENDING).exists()
    ran = list(Invocation.objects.exclude(request_id="").values_list("request_id", flat=True))
    assert len(ran) == len(set(ran))
    assert routing.live_workers() == [survivor.name]


def test_a_mappings_batches_run_on_its_functions_worker_and_stay_warm(workers, moto_server):
    from sandbox.aws.accounts import account_for
    from sandbox.aws.clients import lab_client
    from sandbox.triggers import services as trigger_services

    names = sorted([workers().name, workers().name])
    assert routing.live_workers() == names
    user = UserFactory()
    sqs = lab_client("sqs", account_id=account_for(user))
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    function = FunctionFactory(owner=user, code=NAP, timeout_s=10)
    owner = owner_of(function.pk, names)
    trigger_services.mapping_create(function=function, event_source_arn=arn, batch_size=1)

    # One message at a time, so each is its own batch, taken by the next link of the chain:
    # every link runs where the function's invocations are routed, and finds it warm there.
    runs = []
    for n in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
        ran = wait_until(
            f"message {n} to be handled",
            lambda n=n: (
                Invocation.objects.filter(function=function)
                .exclude(pk__in=[r.pk for r in runs])
                .first()
            ),
        )
        runs.append(finished(ran))
    assert [r.status for r in runs] == [Invocation.Status.SUCCESS] * 4
    assert [r.worker for r in runs] == [owner] * 4
    assert [r.cold_start for r in runs] == [True, False, False, False]
    assert len({r.environment_id for r in runs}) == 1
