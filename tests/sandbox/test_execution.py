"""What the worker runs: invocations and experiments through the real engine, the stale sweep."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sandbox import execution, selectors, services
from sandbox.models import Experiment, Invocation
from tests.sandbox.factories import (
    ExperimentFactory,
    FinishedInvocationFactory,
    FunctionFactory,
    InvocationFactory,
)

pytestmark = pytest.mark.django_db


def test_invocation_execute_runs_the_real_engine_cold_then_warm(learner):
    function = FunctionFactory(owner=learner)
    first = InvocationFactory(function=function, event='{"name": "Ada"}')
    second = InvocationFactory(function=function, event='{"name": "Bob"}')
    first = execution.invocation_execute(invocation_id=first.pk, worker="test")
    second = execution.invocation_execute(invocation_id=second.pk, worker="test")
    assert first.status == Invocation.Status.SUCCESS, first.error or first.failure_reason
    assert first.payload == {"hello": "Ada"}
    assert first.cold_start is True and first.init_duration_ms > 0
    assert second.cold_start is False and second.init_duration_ms is None
    assert second.environment_id == first.environment_id
    assert "REPORT RequestId: " in second.log
    assert second.billed_duration_ms >= 1


def test_invocation_execute_reports_syntax_errors(learner):
    function = FunctionFactory(owner=learner, code="def lambda_handler(:\n")
    invocation = InvocationFactory(function=function)
    invocation.config = services.spec_for(function=function).to_config()
    invocation.save()
    invocation = execution.invocation_execute(invocation_id=invocation.pk)
    assert invocation.status == Invocation.Status.ERROR
    assert invocation.error["errorType"] == "Runtime.UserCodeSyntaxError"


def test_invocation_execute_is_idempotent(learner):
    invocation = InvocationFactory(status=Invocation.Status.SUCCESS, log="done")
    again = execution.invocation_execute(invocation_id=invocation.pk)
    assert again.status == Invocation.Status.SUCCESS and again.log == "done"


def test_redelivered_running_invocation_fails_instead_of_running_twice():
    invocation = InvocationFactory(status=Invocation.Status.RUNNING, started_at=timezone.now())
    again = execution.invocation_execute(invocation_id=invocation.pk)
    assert again.status == Invocation.Status.FAILED
    assert "stopped" in again.failure_reason


def test_sweep_fails_only_stale_running_invocations():
    now = timezone.now()
    stale = InvocationFactory(
        status=Invocation.Status.RUNNING, started_at=now - timedelta(minutes=10)
    )
    fresh = InvocationFactory(status=Invocation.Status.RUNNING, started_at=now)
    queued = InvocationFactory()
    assert execution.invocations_sweep_stale(now=now) == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    queued.refresh_from_db()
    assert stale.status == Invocation.Status.FAILED and "worker stopped" in stale.failure_reason
    assert fresh.status == Invocation.Status.RUNNING
    assert queued.status == Invocation.Status.QUEUED


def test_sweep_for_a_restarted_worker_fails_what_it_owned():
    mine = InvocationFactory(
        status=Invocation.Status.RUNNING, started_at=timezone.now(), worker="w1@host"
    )
    assert execution.invocations_sweep_stale(worker="w1@host") == 1
    mine.refresh_from_db()
    assert mine.status == Invocation.Status.FAILED


@pytest.mark.django_db(transaction=True)  # the burst's threads use their own connections
def test_burst_execute_throttles_over_reserved_concurrency(learner):
    slow = "import time\ndef lambda_handler(event, context):\n    time.sleep(0.5)\n    return 1\n"
    function = FunctionFactory(owner=learner, code=slow, reserved_concurrency=1)
    experiment = Experiment.objects.create(function=function, kind="burst", event="{}", size=3)
    spec = services.spec_for(function=function)
    for _ in range(3):
        InvocationFactory(function=function, experiment=experiment, config=spec.to_config())
    execution.burst_execute(experiment_id=experiment.pk)
    statuses = sorted(experiment.invocations.values_list("status", flat=True))
    assert statuses.count("success") >= 1
    assert "throttled" in statuses


def test_invoke_maps_an_invalid_configuration_to_a_reason():
    with pytest.raises(execution.ExecutionFailed, match="Invalid configuration: memory_mb"):
        execution.invoke(
            config={"name": "f", "handler": "a.b", "code": {}, "memory_mb": 1}, event={}
        )


def test_invoke_maps_an_unavailable_jail_and_engine_faults_to_reasons(monkeypatch):
    from sandbox import pool
    from sandbox.engine import JailUnavailable

    config = {"name": "f", "handler": "app.handler", "code": {"app.py": ""}}

    def no_jail():
        raise JailUnavailable("bwrap is missing")

    monkeypatch.setattr(pool, "get_pool", no_jail)
    with pytest.raises(execution.ExecutionFailed, match=r"cannot isolate code.*bwrap is missing"):
        execution.invoke(config=config, event={})

    class Broken:
        def invoke(self, spec, event, on_admitted=None, handle=None, qualifier=None):
            raise OSError("no space left")

    monkeypatch.setattr(pool, "get_pool", lambda: Broken())
    with pytest.raises(execution.ExecutionFailed, match="The sandbox failed: OSError"):
        execution.invoke(config=config, event={})


def test_an_invocation_the_sandbox_cannot_run_fails_with_the_reason(monkeypatch):
    from sandbox import pool
    from sandbox.engine import JailUnavailable

    def no_jail():
        raise JailUnavailable("bwrap is missing")

    monkeypatch.setattr(pool, "get_pool", no_jail)
    invocation = InvocationFactory()
    invocation = execution.invocation_execute(invocation_id=invocation.pk)
    assert invocation.status == Invocation.Status.FAILED
    assert "bwrap is missing" in invocation.failure_reason


@pytest.mark.django_db(transaction=True)  # the burst's threads use their own connections
def test_a_burst_fires_at_once_and_records_when_each_was_admitted(learner):
    # A fast handler: fired one after another, a single warm environment could serve them all.
    function = FunctionFactory(owner=learner)
    spec = services.spec_for(function=function)
    warm_up = InvocationFactory(function=function, config=spec.to_config())
    execution.invocation_execute(invocation_id=warm_up.pk)
    experiment = Experiment.objects.create(function=function, kind="burst", event="{}", size=3)
    for _ in range(3):
        InvocationFactory(function=function, experiment=experiment, config=spec.to_config())
    execution.burst_execute(experiment_id=experiment.pk)
    runs = list(experiment.invocations.all())
    assert [i.status for i in runs] == ["success"] * 3
    # Fired together, the one warm environment serves exactly one of them, however fast the
    # handler: the engine admits all three before any runs, as Lambda does.
    assert sorted(i.cold_start for i in runs) == [False, True, True]
    assert len({i.environment_id for i in runs}) == 3
    # Each one's admission (the moment the barrier released it) is on record for the timeline.
    assert all(i.started_at is not None for i in runs)

    timeline = selectors.burst_timeline(experiment=experiment)
    assert len(timeline.admissions) == 3 and timeline.cold + timeline.warm == 3


@pytest.mark.django_db(transaction=True)
def test_a_throttled_invocation_is_recorded_as_a_throttle_not_a_warm_run(learner):
    slow = "import time\ndef lambda_handler(event, context):\n    time.sleep(0.5)\n    return 1\n"
    function = FunctionFactory(owner=learner, code=slow, reserved_concurrency=1)
    experiment = Experiment.objects.create(function=function, kind="burst", event="{}", size=2)
    spec = services.spec_for(function=function)
    for _ in range(2):
        InvocationFactory(function=function, experiment=experiment, config=spec.to_config())
    execution.burst_execute(experiment_id=experiment.pk)
    throttled = experiment.invocations.get(status="throttled")
    assert throttled.cold_start is None
    assert throttled.duration_ms is None and throttled.billed_duration_ms is None
    assert throttled.max_memory_used_mb is None and throttled.environment_id == ""
    assert throttled.error["errorType"] == "TooManyRequestsException"


def test_a_stored_event_nested_too_deeply_fails_the_invocation_with_the_reason():
    invocation = InvocationFactory(event="[" * 5000 + "]" * 5000)
    invocation = execution.invocation_execute(invocation_id=invocation.pk)
    assert invocation.status == Invocation.Status.FAILED
    assert "nested 5,000 levels deep" in invocation.failure_reason


def test_a_redelivered_experiment_is_left_to_the_live_process_running_it(learner, monkeypatch):
    from sandbox import heartbeats

    experiment = ExperimentFactory(function=FunctionFactory(owner=learner))
    # The first delivery takes it; the same process, or another live worker, does not again.
    assert execution.experiment_claim(experiment_id=experiment.pk, worker="w1@host")
    assert not execution.experiment_claim(experiment_id=experiment.pk, worker="w1@host")
    monkeypatch.setattr(heartbeats, "worker_alive", lambda *, hostname: True)
    assert not execution.experiment_claim(experiment_id=experiment.pk, worker="w2@host")
    # The holder's worker stopped beating: the next delivery takes the experiment over.
    monkeypatch.setattr(heartbeats, "worker_alive", lambda *, hostname: False)
    assert execution.experiment_claim(experiment_id=experiment.pk, worker="w2@host")
    experiment.refresh_from_db()
    assert experiment.runner.startswith("w2@host#")


def test_a_redelivered_tuning_run_runs_nothing_twice(learner, monkeypatch):
    function = FunctionFactory(owner=learner)
    experiment = ExperimentFactory(function=function, runner="w1@host#1")
    queued = InvocationFactory(function=function, experiment=experiment)
    monkeypatch.setattr(execution.heartbeats, "worker_alive", lambda *, hostname: True)
    execution.tuning_execute(experiment_id=experiment.pk, worker="w2@host")
    queued.refresh_from_db()
    assert queued.status == Invocation.Status.QUEUED  # left to w1, which is still running it


def test_a_tuning_run_gives_every_run_its_own_cold_start_then_a_warm_invocation(
    learner, django_capture_on_commit_callbacks
):
    function = FunctionFactory(owner=learner)
    with django_capture_on_commit_callbacks(execute=False):
        experiment = services.tuning_start(
            function=function,
            event_text='{"name": "Ada"}',
            memory_sizes=[128, 256],
            runs_per_size=2,
            requested_by=learner,
        )
    execution.tuning_execute(experiment_id=experiment.pk, worker="test")
    runs = list(experiment.invocations.order_by("memory_size_mb", "pk"))
    assert [r.status for r in runs] == [Invocation.Status.SUCCESS] * 8
    assert [(r.memory_size_mb, r.cold_start) for r in runs] == [
        (size, cold) for size in (128, 256) for _ in range(2) for cold in (True, False)
    ]
    # Each pair has an environment of its own: the warm run reuses its cold start's.
    environments = [r.environment_id for r in runs]
    assert environments[0::2] == environments[1::2]
    assert len(set(environments)) == 4
    assert all(r.init_duration_ms > 0 for r in runs[0::2])
    summary = selectors.tuning_summary(experiment=experiment, cold_start_rate=0.5)
    assert [p.init.n for p in summary.points] == [2, 2]
    assert [p.warm.n for p in summary.points] == [2, 2]
    from sandbox.pool import get_pool

    tuning_envs = [env for env in get_pool().environments() if env["namespace"].endswith("/tuning")]
    assert not tuning_envs  # the last one is shut down with the run


def test_history_is_bounded_per_function_and_never_drops_pending_work(learner):
    busy, quiet = FunctionFactory(owner=learner), FunctionFactory(owner=learner)
    old = [FinishedInvocationFactory(function=busy) for _ in range(5)]
    queued = InvocationFactory(function=busy)
    mine = FinishedInvocationFactory(function=quiet)
    assert execution.invocations_prune(keep=2) == 3
    left = set(Invocation.objects.values_list("pk", flat=True))
    assert left == {old[3].pk, old[4].pk, queued.pk, mine.pk}


def test_the_history_page_says_how_much_is_kept(client, learner):
    client.force_login(learner)
    function = FunctionFactory(owner=learner)
    url = reverse("sandbox:invocation_list", args=[function.pk])
    html = client.get(url).content.decode()
    assert "The newest 200 finished invocations of each function are kept" in html
