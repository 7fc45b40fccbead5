"""Parsing JSON that comes from outside: a learner's event, an API body, a handler's output.

json.loads recurses once per level of nesting, so `"[" * 5000` raises RecursionError (a 500,
or a crashed worker task) rather than a parse error. json_parse measures the nesting first,
without recursion, and refuses past MAX_JSON_DEPTH with a message fit to show.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Far deeper than any event AWS sends (API Gateway's is 4 levels), far below Python's
# recursion limit, so parsing, storing and rendering a value that passed never recurses out.
MAX_JSON_DEPTH = 100

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_OPENERS = frozenset("[{")


class JSONTooDeep(ValueError):
    """JSON nested more than MAX_JSON_DEPTH levels; str() is the message to show."""


def json_depth(text: str | bytes) -> int:
    """How deeply the arrays and objects of JSON text nest (0 for a scalar), counting
    brackets outside strings. The text need not be valid JSON."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8", "replace")
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRING.sub("", text)):
        if match.group() in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def json_parse(text: str | bytes, *, what: str = "The JSON") -> Any:
    """json.loads, refusing nesting deeper than MAX_JSON_DEPTH first.

    Raises JSONTooDeep (a ValueError) naming `what`, or json.JSONDecodeError as json.loads
    does for text that is not JSON.
    """
    # Fewer brackets than the limit cannot nest past it: most input skips the count.
    if isinstance(text, bytes):
        brackets = text.count(b"[") + text.count(b"{")
    else:
        brackets = text.count("[") + text.count("{")
    depth = json_depth(text) if brackets > MAX_JSON_DEPTH else 0
    if depth > MAX_JSON_DEPTH:
        raise JSONTooDeep(
            f"{what} is nested {depth:,} levels deep; the sandbox accepts at most "
            f"{MAX_JSON_DEPTH} levels of arrays and objects."
        )
    return json.loads(text)
