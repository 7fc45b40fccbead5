"""Writes of the Lambda API: access keys, published versions and aliases.

Functions and invocations are the sandbox's own (sandbox.services): the API calls the same
services as the console, so limits and fair shares apply to every way in.
"""

from __future__ import annotations

import random
import secrets
import string
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from sandbox import services as sandbox_services
from sandbox.api.models import AccessKey, Alias, FunctionVersion
from sandbox.engine import FunctionSpec
from sandbox.models import Function

LATEST = "$LATEST"

MAX_ACTIVE_KEYS = 2  # IAM's limit per user
_KEY_ALPHABET = string.ascii_uppercase + "234567"
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def access_key_create(*, owner: User) -> tuple[AccessKey, str]:
    """Create an access key pair; return the key and its secret (shown this once).

    Key ids look like IAM's (AKIA + 16 characters); secrets are 40 characters. Raises
    ValidationError past MAX_ACTIVE_KEYS active keys, as IAM does.
    """
    active = AccessKey.objects.filter(owner=owner, revoked_at__isnull=True).count()
    if active >= MAX_ACTIVE_KEYS:
        raise ValidationError(
            f"You have {active} active access keys, the most a user can have. "
            "Revoke one you no longer use to create another."
        )
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    key = AccessKey.objects.create(owner=owner, access_key_id=key_id, secret=secret)
    return key, secret


def access_key_revoke(*, key: AccessKey) -> AccessKey:
    """Revoke a key: requests signed with it get UnrecognizedClientException from now on."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
    return key


def access_key_mark_used(*, key: AccessKey, now: datetime | None = None) -> None:
    """Record that key signed a request (to the minute, so busy keys do not write each call)."""
    now = now or timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        AccessKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


# ---------------------------------------------------------------- versions


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "version"}


def version_publish(*, function: Function, description: str = "") -> FunctionVersion:
    """Publish the function's current code and configuration as the next version number.

    As on Lambda, publishing unchanged code and configuration returns the latest version
    instead of making another.
    """
    config = sandbox_services.spec_for(function=function).to_config()
    latest = function.versions.order_by("-number").first()
    if latest is not None and _comparable(latest.config) == _comparable(config):
        return latest
    with transaction.atomic():
        number = (function.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        config["version"] = str(number)
        spec = FunctionSpec.from_config(config)
        return FunctionVersion.objects.create(
            function=function,
            number=number,
            description=description,
            config=config,
            code_sha256=spec.code_sha256,
        )


def version_spec(*, version: FunctionVersion) -> FunctionSpec:
    """What runs for a published version: its own code and configuration, under the
    function's current concurrency settings (reserved concurrency belongs to the function)."""
    function = version.function
    return FunctionSpec.from_config(
        version.config,
        reserved_concurrency=function.reserved_concurrency,
        provisioned_concurrency=0,
        namespace=function.namespace,
    )


def version_delete(*, version: FunctionVersion) -> None:
    """Delete a published version. Raises ValidationError while an alias points to it."""
    number = str(version.number)
    used = [
        alias.name
        for alias in version.function.aliases.all()
        if alias.function_version == number or number in alias.additional_weights
    ]
    if used:
        raise ValidationError(
            f"Unable to delete version because the following aliases reference it: {used}"
        )
    version.delete()


# ---------------------------------------------------------------- aliases


def _check_routing(*, function: Function, function_version: str, weights: dict[str, float]) -> None:
    known = {str(n) for n in function.versions.values_list("number", flat=True)}
    if function_version != LATEST and function_version not in known:
        raise ValidationError(
            {"function_version": f"Function version {function_version} does not exist."}
        )
    if len(weights) > 1:
        raise ValidationError({"routing": "An alias can route to at most one additional version."})
    for extra, weight in weights.items():
        if extra not in known:
            raise ValidationError({"routing": f"Function version {extra} does not exist."})
        if function_version == LATEST:
            raise ValidationError(
                {"routing": "$LATEST is not supported for an alias pointing to more than 1 version"}
            )
        if extra == function_version:
            raise ValidationError(
                {"routing": "Cannot have the same version in primary and additional versions."}
            )
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            raise ValidationError({"routing": "A version weight must be between 0.0 and 1.0."})


def alias_create(
    *,
    function: Function,
    name: str,
    function_version: str,
    description: str = "",
    weights: dict[str, float] | None = None,
) -> Alias:
    """Create an alias. Raises ValidationError for a bad name, an unknown version or bad
    routing weights, and for a name already taken (with code "exists")."""
    weights = dict(weights or {})
    _check_routing(function=function, function_version=function_version, weights=weights)
    alias = Alias(
        function=function,
        name=name,
        function_version=function_version,
        description=description,
        additional_weights=weights,
    )
    alias.full_clean(exclude=["function"], validate_unique=False, validate_constraints=False)
    if function.aliases.filter(name=name).exists():
        raise ValidationError("Alias already exists", code="exists")
    try:
        with transaction.atomic():
            alias.save()
    except IntegrityError:
        raise ValidationError("Alias already exists", code="exists") from None
    return alias


def alias_update(
    *,
    alias: Alias,
    function_version: str | None = None,
    description: str | None = None,
    weights: dict[str, float] | None = None,
) -> Alias:
    """Change what an alias points to; None leaves a field as it is ({} clears the routing)."""
    version = alias.function_version if function_version is None else function_version
    routing = alias.additional_weights if weights is None else dict(weights)
    _check_routing(function=alias.function, function_version=version, weights=routing)
    alias.function_version = version
    alias.additional_weights = routing
    if description is not None:
        alias.description = description
    alias.save()
    return alias


def alias_delete(*, alias: Alias) -> None:
    alias.delete()


def alias_pick_version(*, alias: Alias, draw: float | None = None) -> str:
    """The version one invocation of alias runs: the additional version with its weight's
    probability, else the primary one (Lambda's weighted alias routing)."""
    draw = random.random() if draw is None else draw
    for version, weight in alias.additional_weights.items():
        if draw < weight:
            return version
    return alias.function_version
