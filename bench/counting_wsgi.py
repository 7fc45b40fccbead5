"""The project's WSGI application, with each response telling how much it cost.

Used by bench/load.py only: gunicorn serves `counting_wsgi:application`, which adds
`X-Bench-Queries` (SQL statements) and `X-Bench-Redis` (Redis round trips: cache, Celery
enqueues, health pings) to every response. Production serves lambdalab.wsgi unchanged.
"""

import threading
from collections.abc import Callable, Iterable
from typing import Any

import redis.connection
from django.db import connection

from lambdalab.wsgi import application as django_application

_local = threading.local()
_connection_class: Any = getattr(
    redis.connection, "AbstractConnection", redis.connection.Connection
)
_send_packed = _connection_class.send_packed_command


def _counting_send(self: Any, command: Any, check_health: bool = True) -> None:
    if getattr(_local, "counting", False):
        _local.redis += 1
    return _send_packed(self, command, check_health)


_connection_class.send_packed_command = _counting_send


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    queries = [0]

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        queries[0] += 1
        return execute(sql, params, many, context)

    def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers.append(("X-Bench-Queries", str(queries[0])))
        headers.append(("X-Bench-Redis", str(_local.redis)))
        return start_response(status, headers, exc_info)

    _local.counting, _local.redis = True, 0
    try:
        with connection.execute_wrapper(count):
            return django_application(environ, respond)
    finally:
        _local.counting = False
