"""IAM identity-policy evaluation for execution roles, the way IAM decides (no Django).

An explicit Deny in any statement wins; otherwise an Allow is needed; otherwise the request is
implicitly denied. Action, NotAction, Resource and NotResource are matched with IAM's wildcards
(`*` any run of characters, `?` one); actions ignore case, resources do not, and a resource may
name policy variables (`arn:aws:s3:::photos/${aws:PrincipalAccount}/*`), filled in from the
request's context (one that cannot be filled matches nothing). A statement's Condition is
decided against the request's context keys (sandbox.aws.conditions); a Condition that cannot be
decided (one stored before documents were checked) keeps an Allow from applying and makes a
Deny apply, so it can only refuse more, never grant more.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sandbox.aws import conditions


class Decision(enum.StrEnum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"


class PolicyError(ValueError):
    """A policy document IAM would refuse (MalformedPolicyDocument)."""


@lru_cache(maxsize=4096)
def _pattern(value: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in value
    )
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def _matches(patterns: list[str], value: str, *, ignore_case: bool) -> bool:
    return any(_pattern(p, ignore_case).match(value) for p in patterns)


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    body = document.get("Statement", [])
    if isinstance(body, dict):
        return [body]
    return list(body) if isinstance(body, list) else []


def validate(document: Any) -> dict[str, Any]:
    """Return the document if IAM would accept it as an identity policy; raise PolicyError."""
    if not isinstance(document, dict):
        raise PolicyError("Syntax errors in policy.")
    if document.get("Version", "2012-10-17") not in ("2012-10-17", "2008-10-17"):
        raise PolicyError("The policy must use Version 2012-10-17.")
    found = statements(document)
    if not found or not isinstance(document.get("Statement"), list | dict):
        raise PolicyError("Policy document must contain at least one Statement.")
    for statement in found:
        if not isinstance(statement, dict):
            raise PolicyError("Syntax errors in policy.")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError("Each statement needs an Effect of Allow or Deny.")
        if ("Action" in statement) == ("NotAction" in statement):
            raise PolicyError("Each statement needs exactly one of Action or NotAction.")
        if ("Resource" in statement) == ("NotResource" in statement):
            raise PolicyError("Policy statement must contain resources.")
        for key in ("Action", "NotAction"):
            for action in _as_list(statement.get(key)):
                if action != "*" and ":" not in action:
                    raise PolicyError(f"Actions/Condition can contain only one colon: '{action}'")
        if "Condition" in statement:
            message = conditions.problem(statement["Condition"])
            if message is not None:
                raise PolicyError(message)
    return document


def _resource_matches(patterns: list[str], resource: str, context: conditions.Context) -> bool:
    # A value naming a policy variable the request cannot fill matches nothing.
    for value in patterns:
        if "${" not in value:
            found: re.Pattern[str] | None = _pattern(value, False)
        else:
            found = conditions.resource_pattern(value, context)
        if found is not None and found.match(resource):
            return True
    return False


def _applies(
    statement: dict[str, Any], action: str, resource: str, context: conditions.Context
) -> bool:
    if "Action" in statement:
        if not _matches(_as_list(statement["Action"]), action, ignore_case=True):
            return False
    elif _matches(_as_list(statement.get("NotAction")), action, ignore_case=True):
        return False
    if "Resource" in statement:
        return _resource_matches(_as_list(statement["Resource"]), resource, context)
    excluded = _as_list(statement.get("NotResource"))
    if any(
        "${" in value and conditions.resource_pattern(value, context) is None for value in excluded
    ):
        return False  # IAM cannot fill the variable: the statement does not apply
    return not _resource_matches(excluded, resource, context)


def _condition_holds(statement: dict[str, Any], context: conditions.Context) -> bool | None:
    try:
        return conditions.holds(statement.get("Condition"), context)
    except conditions.ConditionError:
        return None


def evaluate(
    documents: Iterable[dict[str, Any]],
    *,
    action: str,
    resource: str,
    context: conditions.Context | None = None,
) -> Decision:
    """IAM's decision for one action on one resource under these identity policies, given
    the request's context keys (lower-cased names; see sandbox.aws.conditions)."""
    context = context if context is not None else {}
    allowed = False
    for document in documents:
        for statement in statements(document):
            if not isinstance(statement, dict) or not _applies(
                statement, action, resource, context
            ):
                continue
            holds = _condition_holds(statement, context)
            if statement.get("Effect") == "Deny" and holds is not False:
                return Decision.EXPLICIT_DENY
            if statement.get("Effect") == "Allow" and holds:
                allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
