"""IAM Condition blocks, decided against a request context, the way IAM decides (no Django).

    problem(condition) -> str | None
        IAM's MalformedPolicyDocument message for a Condition it would refuse, or None.
    holds(condition, context) -> bool
        Whether the block is true for this request; raises ConditionError for a block
        `problem` refuses (a document stored before it was checked).

A context maps lower-cased key names (IAM's key names ignore case) to a string, for a
single-valued key, or a list of strings, for a multivalued one; a key not in it is absent.

Every operator in a block must hold (AND), every key under an operator must hold (AND), and a
key holds when its request value matches any of the policy's values (OR); a negated operator
(StringNotEquals, ArnNotLike, NotIpAddress, ...) holds when the request value matches none of
them. An absent key makes a positive operator false and a negated one true; `...IfExists`
makes any operator true for an absent key; `Null` tests presence alone. `ForAllValues:` holds
when every request value matches (so also when there are none: the key is absent or empty);
`ForAnyValue:` when at least one does (never for an absent key).

Policy variables in values (`${aws:PrincipalAccount}`, `${aws:userid}`,
`${aws:PrincipalTag/x, 'default'}`, and the escapes `${*}`, `${?}`, `${$}`) are filled in from
the context. IAM may treat a statement whose variable it cannot resolve as invalid; here a key
whose values name a variable the context does not have (or has several values for) is false,
negated or not. `resource_pattern` fills them in a Resource the same way.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

Context = Mapping[str, str | Sequence[str]]

SYNTAX_ERROR = "Syntax errors in policy."
LEGACY_PARSING = "The policy failed legacy parsing"


class ConditionError(ValueError):
    """A Condition block IAM would refuse; str() is IAM's message."""


# ------------------------------------------------------------------------------------ matching


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(f"^{regex}$", re.DOTALL)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*([Zz]|[+-]\d{2}:?\d{2})?$"
)


def _date(text: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 date or time, or of epoch seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return float(text)
    match = _ISO.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    offset = 0
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 60 + int(digits[2:])) * 60 * (1 if zone[0] == "+" else -1)
    return moment.timestamp() - offset


def _arn_like(pattern: str, value: str) -> bool:
    # Each of the six colon-separated parts is matched on its own, case-sensitively.
    wanted, got = pattern.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(got) != 6:
        return False
    return all(_glob(w).match(g) for w, g in zip(wanted, got, strict=True))


def _ip(pattern: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return False


def _compare(parse: Callable[[str], float | None], test: Callable[[float, float], bool]) -> Any:
    def match(pattern: str, value: str) -> bool:
        wanted, got = parse(pattern), parse(value)
        return wanted is not None and got is not None and test(got, wanted)

    return match


# The positive test of each family: does the request's value match the policy's?
_TESTS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.casefold() == v.casefold(),
    "StringLike": lambda p, v: bool(_glob(p).match(v)),
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "NumericEquals": _compare(_number, lambda got, wanted: got == wanted),
    "NumericLessThan": _compare(_number, lambda got, wanted: got < wanted),
    "NumericLessThanEquals": _compare(_number, lambda got, wanted: got <= wanted),
    "NumericGreaterThan": _compare(_number, lambda got, wanted: got > wanted),
    "NumericGreaterThanEquals": _compare(_number, lambda got, wanted: got >= wanted),
    "DateEquals": _compare(_date, lambda got, wanted: got == wanted),
    "DateLessThan": _compare(_date, lambda got, wanted: got < wanted),
    "DateLessThanEquals": _compare(_date, lambda got, wanted: got <= wanted),
    "DateGreaterThan": _compare(_date, lambda got, wanted: got > wanted),
    "DateGreaterThanEquals": _compare(_date, lambda got, wanted: got >= wanted),
    "Bool": lambda p, v: p.lower() == v.lower(),
    "BinaryEquals": lambda p, v: p == v,
    "IpAddress": _ip,
}
# operator -> (family whose test it uses, negated)
OPERATORS: dict[str, tuple[str, bool]] = {
    **{name: (name, False) for name in _TESTS},
    "StringNotEquals": ("StringEquals", True),
    "StringNotEqualsIgnoreCase": ("StringEqualsIgnoreCase", True),
    "StringNotLike": ("StringLike", True),
    "ArnNotEquals": ("ArnEquals", True),
    "ArnNotLike": ("ArnLike", True),
    "NumericNotEquals": ("NumericEquals", True),
    "DateNotEquals": ("DateEquals", True),
    "NotIpAddress": ("IpAddress", True),
    "Null": ("Null", False),
}
_QUALIFIERS = ("ForAnyValue:", "ForAllValues:")


def _parse_operator(name: str) -> tuple[str, str, bool, bool] | None:
    """(qualifier, family, negated, if_exists) of an operator name, or None if IAM has none."""
    qualifier = next((q for q in _QUALIFIERS if name.startswith(q)), "")
    base = name[len(qualifier) :]
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    if base not in OPERATORS:
        return None
    family, negated = OPERATORS[base]
    return qualifier, family, negated, if_exists


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _values(raw: Any) -> list[str] | None:
    """The policy's values for one key as strings, or None if IAM would refuse them."""
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(item, str | int | float | bool) for item in items):
        return None
    return [_as_text(item) for item in items]


# ------------------------------------------------------------------------------------ variables

_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _Unresolved(Exception):
    pass


def _lookup(expression: str, context: Context) -> str:
    name, _, default = expression.partition(",")
    name = name.strip()
    if name in ("*", "?", "$"):
        return name
    found = context.get(name.lower())
    if isinstance(found, str):
        return found
    default = default.strip()
    if found is None and len(default) >= 2 and default[0] == default[-1] == "'":
        return default[1:-1]
    raise _Unresolved(name)  # absent, or multivalued: IAM resolves neither


def _fill(value: str, context: Context, *, like: bool) -> str | re.Pattern[str]:
    """The policy value with its variables filled in; for StringLike a pattern in which the
    variables' text (and the escapes) match only themselves. (In ARN operators a filled-in
    `*` or `?` is a wildcard: ARNs and the keys filled into them hold neither.)"""
    if "${" not in value:
        return _glob(value) if like else value
    if not like:
        return _VARIABLE.sub(lambda m: _lookup(m[1], context), value)
    regex, last = "", 0
    for match in _VARIABLE.finditer(value):
        regex += _glob(value[last : match.start()]).pattern[1:-1]
        regex += re.escape(_lookup(match[1], context))
        last = match.end()
    regex += _glob(value[last:]).pattern[1:-1]
    return re.compile(f"^{regex}$", re.DOTALL)


def _matches_any(family: str, filled: list[str | re.Pattern[str]], value: str) -> bool:
    if family == "StringLike":
        return any(isinstance(p, re.Pattern) and p.match(value) for p in filled)
    test = _TESTS[family]
    return any(isinstance(p, str) and test(p, value) for p in filled)


# ------------------------------------------------------------------------------------ public


def resource_pattern(value: str, context: Context) -> re.Pattern[str] | None:
    """A Resource or NotResource value as a pattern (`*`, `?`, and policy variables filled in
    from the context), or None when it names a variable the context cannot fill."""
    try:
        found = _fill(value, context, like=True)
    except _Unresolved:
        return None
    assert isinstance(found, re.Pattern)
    return found


def problem(condition: Any) -> str | None:
    """IAM's MalformedPolicyDocument message for a Condition it would refuse, or None."""
    if not isinstance(condition, dict):
        return SYNTAX_ERROR
    for operator, keys in condition.items():
        parsed = _parse_operator(operator) if isinstance(operator, str) else None
        if parsed is None or not isinstance(keys, dict):
            return SYNTAX_ERROR
        for key, raw in keys.items():
            values = _values(raw)
            if not isinstance(key, str) or not key or values is None:
                return SYNTAX_ERROR
            if parsed[1].startswith("Date") and any(
                "${" not in value and _date(value) is None for value in values
            ):
                return LEGACY_PARSING
    return None


def _key_holds(
    qualifier: str,
    family: str,
    negated: bool,
    if_exists: bool,
    wanted: list[str],
    found: str | Sequence[str] | None,
    context: Context,
) -> bool:
    got = [found] if isinstance(found, str) else list(found or [])
    present = found is not None and bool(got)
    if family == "Null":
        return any((value.lower() == "true") is not present for value in wanted)
    if not present:
        if if_exists or qualifier == "ForAllValues:":
            return True
        return negated and qualifier != "ForAnyValue:"
    try:
        filled = [_fill(value, context, like=family == "StringLike") for value in wanted]
    except _Unresolved:
        return False
    if qualifier:
        each = [_matches_any(family, filled, value) is not negated for value in got]
        return all(each) if qualifier == "ForAllValues:" else any(each)
    matched = any(_matches_any(family, filled, value) for value in got)
    return matched is not negated


def holds(condition: Any, context: Context) -> bool:
    """Whether the Condition block is true for this request context (see the module)."""
    if condition is None or condition == {}:
        return True  # no Condition, or an empty one: the statement is unconditional
    message = problem(condition)
    if message is not None:
        raise ConditionError(message)
    for operator, keys in condition.items():
        parsed = _parse_operator(operator)
        assert parsed is not None  # problem() said so
        for key, raw in keys.items():
            wanted = _values(raw) or []
            if not _key_holds(*parsed, wanted, context.get(key.lower()), context):
                return False
    return True
