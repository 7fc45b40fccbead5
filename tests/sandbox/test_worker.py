import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox import worker
from sandbox.models import Invocation
from tests.sandbox.factories import InvocationFactory


@pytest.mark.django_db(transaction=True)  # the sweep runs on the heartbeat's own thread
def test_heartbeat_sweep_fails_invocations_left_running_by_a_dead_worker() -> None:
    stale = InvocationFactory(
        status=Invocation.Status.RUNNING,
        started_at=timezone.now() - timedelta(minutes=10),
        worker="gone@elsewhere",
    )
    sweep = threading.Thread(target=worker._sweep)
    sweep.start()
    sweep.join()
    stale.refresh_from_db()
    assert stale.status == Invocation.Status.FAILED
    assert "worker stopped" in stale.failure_reason
