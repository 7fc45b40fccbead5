"""A long-lived thread that starts every jail of a pool.

bwrap --die-with-parent uses PR_SET_PDEATHSIG, which fires when the *thread* that forked the
jail exits, not the process. Jails started directly from a Celery or CLI worker thread would be
killed as soon as that thread ends, so all of a pool's jails are forked by this one thread,
which lives exactly as long as the pool.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from concurrent.futures import Future
from typing import Any


class Spawner:
    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[
            tuple[list[str], dict[str, Any], Future[subprocess.Popen[bytes]]] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="lambdalab-spawner", daemon=True)
        self._thread.start()

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """subprocess.Popen(argv, **kwargs), run on the spawner thread; raises what it raises."""
        future: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((argv, kwargs, future))
        return future.result()

    def _loop(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            argv, kwargs, future = request
            try:
                future.set_result(subprocess.Popen(argv, **kwargs))
            except BaseException as exc:  # handed to the caller, who re-raises it
                future.set_exception(exc)

    def stop(self) -> None:
        """Stop the thread. Jails it started are killed by the kernel (parent-death signal)."""
        self._requests.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
