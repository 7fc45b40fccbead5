"""Writes of the Lambda API: access keys, published versions and aliases, asynchronous
invocations (retries, event invoke configs, destinations).

Functions and invocations are the sandbox's own (sandbox.services): the API calls the same
services as the console, so limits and fair shares apply to every way in.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from sandbox import services as sandbox_services
from sandbox.api.models import (
    AccessKey,
    Alias,
    AsyncEvent,
    EventInvokeConfig,
    FunctionUrlConfig,
    FunctionVersion,
    PolicyStatement,
    ProvisionedConcurrencyConfig,
)
from sandbox.aws.accounts import account_for
from sandbox.engine import FunctionSpec
from sandbox.models import Function, Invocation
from sandbox.routing import task_named

logger = logging.getLogger(__name__)

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
    # The account is the owner's, not configuration: versions published before specs named it
    # are the same as the code they hold.
    return {k: v for k, v in config.items() if k not in ("version", "account_id")}


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
    provisioned = (
        function.provisioned_configs.filter(version_number=version.number)
        .values_list("requested", flat=True)
        .first()
        or 0
    )
    if function.reserved_concurrency is not None:
        # Reserved concurrency lowered since: the version keeps what its reservation allows.
        provisioned = min(provisioned, function.reserved_concurrency)
    return FunctionSpec.from_config(
        version.config,
        reserved_concurrency=function.reserved_concurrency,
        provisioned_concurrency=provisioned,
        namespace=function.namespace,
        account_id=account_for(function.owner),
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
    if version.function.provisioned_configs.filter(version_number=version.number).exists():
        raise ValidationError(
            "Unable to delete version because it has a provisioned concurrency config; "
            "delete that first."
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
    provisioned = alias.function.provisioned_configs.filter(qualifier=alias.name).first()
    if provisioned is not None and (version == LATEST or routing):
        raise ValidationError(
            "An alias with provisioned concurrency must point to one published version "
            "(no $LATEST, no routing weights); delete its provisioned concurrency config first."
        )
    with transaction.atomic():
        alias.function_version = version
        alias.additional_weights = routing
        if description is not None:
            alias.description = description
        alias.save()
        if provisioned is not None and provisioned.version_number != int(version):
            # The alias's provisioned environments move to its new version, as on Lambda.
            old = provisioned.version_number
            if alias.function.provisioned_configs.filter(version_number=int(version)).exists():
                raise ValidationError(
                    f"Version {version} already has provisioned concurrency of its own."
                )
            provisioned.version_number = int(version)
            provisioned.status = ProvisionedConcurrencyConfig.Status.IN_PROGRESS
            provisioned.allocated = 0
            provisioned.save()
            _provision_on_commit(alias.function, old)
            _provision_on_commit(alias.function, provisioned.version_number)
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


def qualifier_spec(*, function: Function, qualifier: str | None) -> tuple[str, FunctionSpec | None]:
    """The version one invocation of function:qualifier runs and its spec (None: $LATEST, the
    function's current code). An alias picks by its weights. Raises ValidationError for a
    version or alias that does not exist."""
    if qualifier in (None, "", LATEST):
        return LATEST, None
    assert qualifier is not None
    if not qualifier.isdigit():
        alias = function.aliases.filter(name=qualifier).first()
        if alias is None:
            raise ValidationError(f"Alias {qualifier} does not exist.")
        qualifier = alias_pick_version(alias=alias)
        if qualifier == LATEST:
            return LATEST, None
    version = function.versions.filter(number=int(qualifier)).select_related("function").first()
    if version is None:
        raise ValidationError(f"Function version {qualifier} does not exist.")
    return qualifier, version_spec(version=version)


# ---------------------------------------------------------------- asynchronous invocations

# Chains of destinations (A's OnSuccess invokes B, whose OnSuccess invokes A...) stop after this
# many hops, as Lambda's recursive loop detection stops them (after about 16).
DESTINATION_DEPTH = 16
# Handlers that invoke functions (A invokes B, B invokes A...) form chains too: an invoke from
# a handler this many invokes deep is refused (RecursiveInvocationException), as Lambda stops
# recursive loops. A synchronous invocation's depth is kept in the cache for as long as an
# invocation can take; an asynchronous one's is its event's depth.
INVOKE_CHAIN_DEPTH = DESTINATION_DEPTH
_CHAIN_KEY = "sandbox_api:chain:{}"
CHAIN_KEY_TTL_S = 3600


def invocation_chain_depth(*, invocation_id: int | None) -> int:
    """How many invokes from handlers led to the invocation (0 for one a learner, the console
    or a trigger started). Reads 0 when the cache lost it (Redis down): the chain starts over."""
    if invocation_id is None:
        return 0
    depth = cache.get(_CHAIN_KEY.format(invocation_id))
    if depth is None:
        depth = (
            AsyncEvent.objects.filter(attempts=invocation_id)
            .values_list("depth", flat=True)
            .first()
        )
    return int(depth or 0)


def invocation_chain_note(*, invocation_id: int, depth: int) -> None:
    """Note that a handler's invoke `depth` deep started the (synchronous) invocation."""
    cache.set(_CHAIN_KEY.format(invocation_id), depth, timeout=CHAIN_KEY_TTL_S)


MAX_EVENT_AGE_S = 21600  # six hours, Lambda's default and maximum
MIN_EVENT_AGE_S = 60

_DESTINATION_RE = re.compile(
    r"^arn:aws[a-zA-Z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12})?:"
    r"(?P<resource>.+)$"
)
_FUNCTION_RESOURCE_RE = re.compile(
    r"^function:(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)


@dataclass(frozen=True)
class EventSettings:
    """What applies to one asynchronous invocation: its EventInvokeConfig, or Lambda's defaults."""

    maximum_retry_attempts: int = 2
    maximum_event_age_s: int = MAX_EVENT_AGE_S
    on_success: str = ""
    on_failure: str = ""


def _check_destination(arn: str, *, function: Function, qualifier: str) -> None:
    match = _DESTINATION_RE.match(arn)
    if match is None:
        raise ValidationError(f"The destination ARN {arn} is invalid.")
    own = account_for(function.owner)
    if match["service"] in ("sqs", "sns"):
        if match["account"] != own or ":" in match["resource"] or not match["resource"]:
            raise ValidationError(
                f"The destination ARN {arn} is invalid: name a queue or topic of your lab "
                f"account ({own})."
            )
        return
    if match["service"] in ("events", "s3"):
        raise ValidationError(
            f"The destination ARN {arn} names {match['service'].upper()}; this sandbox delivers "
            "records to Lambda functions, SQS queues and SNS topics."
        )
    resource = _FUNCTION_RESOURCE_RE.match(match["resource"])
    if match["service"] != "lambda" or resource is None:
        raise ValidationError(f"The destination ARN {arn} is invalid.")
    if match["account"] != own:
        raise ValidationError(f"The destination ARN {arn} is in another account; use {own}.")
    if resource["name"] == function.name and (resource["qualifier"] or LATEST) == qualifier:
        raise ValidationError("A function cannot be its own destination.")


def event_invoke_config_put(
    *,
    function: Function,
    qualifier: str,
    maximum_retry_attempts: int | None = None,
    maximum_event_age_s: int | None = None,
    on_success: str | None = None,
    on_failure: str | None = None,
    replace: bool = True,
) -> EventInvokeConfig:
    """Set how function:qualifier handles asynchronous invocations.

    replace (PutFunctionEventInvokeConfig) resets what is not given to Lambda's defaults;
    otherwise (UpdateFunctionEventInvokeConfig) only the given fields change, and the config
    must exist (EventInvokeConfig.DoesNotExist). Raises ValidationError for retries outside
    0-2, an age outside 60-21600 s, or a destination that is not a Lambda function ARN.
    """
    config = function.event_invoke_configs.filter(qualifier=qualifier).first()
    if config is None:
        if not replace:
            raise EventInvokeConfig.DoesNotExist
        config = EventInvokeConfig(function=function, qualifier=qualifier)
    elif replace:
        config = EventInvokeConfig(
            pk=config.pk, function=function, qualifier=qualifier, created_at=config.created_at
        )
    if maximum_retry_attempts is not None:
        retries = maximum_retry_attempts
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 2:
            raise ValidationError("MaximumRetryAttempts must be between 0 and 2.")
        config.maximum_retry_attempts = retries
    if maximum_event_age_s is not None:
        age = maximum_event_age_s
        if (
            isinstance(age, bool)
            or not isinstance(age, int)
            or not MIN_EVENT_AGE_S <= age <= MAX_EVENT_AGE_S
        ):
            raise ValidationError(
                f"MaximumEventAgeInSeconds must be between {MIN_EVENT_AGE_S} and {MAX_EVENT_AGE_S}."
            )
        config.maximum_event_age_s = age
    for field, arn in (("on_success", on_success), ("on_failure", on_failure)):
        if arn is not None:
            if arn:
                _check_destination(arn, function=function, qualifier=qualifier)
            setattr(config, field, arn)
    config.save()
    return config


def event_invoke_config_delete(*, config: EventInvokeConfig) -> None:
    config.delete()


def _event_settings(event: AsyncEvent) -> EventSettings:
    config = event.function.event_invoke_configs.filter(qualifier=event.qualifier).first()
    if config is None:
        return EventSettings()
    return EventSettings(
        maximum_retry_attempts=config.maximum_retry_attempts,
        maximum_event_age_s=config.maximum_event_age_s,
        on_success=config.on_success,
        on_failure=config.on_failure,
    )


def async_invoke(
    *,
    function: Function,
    requested_by: User,
    event_text: str,
    qualifier: str = LATEST,
    executed_version: str = LATEST,
    spec: FunctionSpec | None = None,
    depth: int = 0,
) -> AsyncEvent:
    """Queue an asynchronous invocation (InvocationType Event) and its first attempt.

    The attempt goes through sandbox.services.invocation_start, like every invocation, so it
    counts toward the learner's limits: raises LimitReached (and queues nothing) past them, and
    ValidationError for an event that is not JSON.
    """
    with transaction.atomic():
        event = AsyncEvent.objects.create(
            function=function,
            requested_by=requested_by,
            request_id=uuid.uuid4(),
            qualifier=qualifier,
            executed_version=executed_version,
            event=event_text,
            depth=depth,
        )
        invocation = sandbox_services.invocation_start(
            function=function,
            event_text=event_text,
            requested_by=requested_by,
            spec=spec,
            qualifier=_invoked_qualifier(qualifier),
        )
        event.current = invocation
        event.save(update_fields=["current", "updated_at"])
        event.attempts.add(invocation)
    return event


def _invoked_qualifier(qualifier: str) -> str:
    """An event's qualifier as its attempts' context names it: an event records an unqualified
    invoke as $LATEST, whose ARN is the unqualified one."""
    return "" if qualifier == LATEST else qualifier


def _task(name: str) -> Any:
    # sandbox.api.tasks calls back into this module: its tasks are sent by name.
    return task_named(f"sandbox.api.tasks.{name}")


def _schedule(event: AsyncEvent, *, delay_s: float) -> None:
    event_id, invoke_count, throttles = event.pk, event.invoke_count, event.throttles
    transaction.on_commit(
        lambda: _task("async_event_retry").apply_async(
            (event_id, invoke_count, throttles), countdown=delay_s
        )
    )


def _throttle_delay(throttles: int) -> float:
    first, most = settings.SANDBOX_API_ASYNC_THROTTLE_BACKOFF
    return float(min(first * 2 ** max(throttles - 1, 0), most))


def _retry_delay(retry: int) -> float:
    delays = settings.SANDBOX_API_ASYNC_RETRY_DELAYS
    return float(delays[min(retry, len(delays)) - 1])


def async_event_attempt_finished(*, invocation_id: int) -> AsyncEvent | None:
    """After an attempt of an asynchronous invocation ran: retry it, or finish it and send its
    record to the destination. Returns the event, or None when invocation_id is no pending
    attempt of one (a synchronous invocation, or news already handled).

    As on Lambda: a function error (or timeout, crash, or the sandbox failing to run it) is
    retried MaximumRetryAttempts times, after SANDBOX_API_ASYNC_RETRY_DELAYS; a throttled
    attempt is retried with backoff without counting, until the event is too old.
    """
    event = (
        AsyncEvent.objects.filter(current_id=invocation_id, status=AsyncEvent.Status.QUEUED)
        .select_related("function", "current", "requested_by")
        .first()
    )
    if event is None or event.current is None or event.current.is_pending:
        return None
    invocation = event.current
    throttled = invocation.status == Invocation.Status.THROTTLED
    with transaction.atomic():
        # Claimed by a conditional update: a second delivery of the same news does nothing.
        if not AsyncEvent.objects.filter(
            pk=event.pk, current_id=invocation_id, status=AsyncEvent.Status.QUEUED
        ).update(current=None, updated_at=timezone.now()):
            return None
        event.current = None
        if throttled:
            event.throttles += 1
            AsyncEvent.objects.filter(pk=event.pk).update(throttles=event.throttles)
            _schedule(event, delay_s=_throttle_delay(event.throttles))
            return event
        event.invoke_count += 1
        AsyncEvent.objects.filter(pk=event.pk).update(invoke_count=event.invoke_count)
        if invocation.status == Invocation.Status.SUCCESS:
            _finish(event, status=AsyncEvent.Status.SUCCEEDED, last=invocation)
            return event
        retries = _event_settings(event).maximum_retry_attempts
        # A stopped invocation was ended on purpose (by its learner or an instructor).
        if event.invoke_count <= retries and invocation.status != Invocation.Status.STOPPED:
            _schedule(event, delay_s=_retry_delay(event.invoke_count))
        else:
            _finish(event, status=AsyncEvent.Status.FAILED, last=invocation)
    return event


def async_events_sweep_stale(*, limit: int = 500) -> int:
    """Go on with asynchronous invocations whose current attempt has ended without the post-run
    hook hearing of it, and return how many were handed on.

    The hook (sandbox.api.tasks.after_invocation) fires when an invocation's task ends; an
    attempt whose worker died mid-run ends instead when the stale sweep
    (sandbox.execution.invocations_sweep_stale) fails it, with no task to end. Each such event
    is retried or sent to OnFailure as after any failed attempt (async_event_attempt_finished,
    which claims the news, so an attempt the hook hears of too is handled once). One of
    SANDBOX_STALE_SWEEPS, run after the invocations' sweep.
    """
    attempts = list(
        AsyncEvent.objects.filter(status=AsyncEvent.Status.QUEUED, current__isnull=False)
        .exclude(current__status__in=Invocation.PENDING)
        .order_by("pk")
        .values_list("current_id", flat=True)[:limit]
    )
    handed = 0
    for invocation_id in attempts:
        if async_event_attempt_finished(invocation_id=invocation_id) is not None:
            handed += 1
    return handed


# Called as fn(previous, retry) in the transaction that starts a retry of an asynchronous
# invocation, so what the apps that queue them record on an attempt (sandbox.triggers: what
# triggered it) is on each retry too; this module does not import them.
RetryObserver = Callable[[Invocation, Invocation], None]
retry_observers: list[RetryObserver] = []


def on_retry(observer: RetryObserver) -> RetryObserver:
    """Register fn(previous attempt, new attempt) to run as each retry starts."""
    if observer not in retry_observers:
        retry_observers.append(observer)
    return observer


def async_event_retry(
    *, event_id: int, invoke_count: int, throttles: int, now: datetime | None = None
) -> AsyncEvent | None:
    """Run the next attempt of an asynchronous invocation, unless it has grown older than its
    MaximumEventAgeInSeconds (then it is dropped, and its record goes to OnFailure).

    invoke_count and throttles say which attempt this is: a retry delivered twice starts one.
    Past the learner's limits the attempt counts as throttled and waits again.
    """
    now = now or timezone.now()
    event = (
        AsyncEvent.objects.filter(
            pk=event_id,
            status=AsyncEvent.Status.QUEUED,
            current__isnull=True,
            invoke_count=invoke_count,
            throttles=throttles,
        )
        .select_related("function", "requested_by")
        .first()
    )
    if event is None:
        return None
    last = event.attempts.order_by("-pk").first()
    if (now - event.created_at).total_seconds() > _event_settings(event).maximum_event_age_s:
        with transaction.atomic():
            _finish(event, status=AsyncEvent.Status.EXPIRED, last=last, now=now)
        return event
    try:
        spec = FunctionSpec.from_config(last.config) if last is not None else None
        if spec is None and event.executed_version != LATEST:
            _, spec = qualifier_spec(function=event.function, qualifier=event.executed_version)
        with transaction.atomic():
            invocation = sandbox_services.invocation_start(
                function=event.function,
                event_text=event.event,
                requested_by=event.requested_by,
                spec=spec,
                qualifier=_invoked_qualifier(event.qualifier),
            )
            claimed = AsyncEvent.objects.filter(
                pk=event.pk,
                current__isnull=True,
                invoke_count=invoke_count,
                throttles=throttles,
                status=AsyncEvent.Status.QUEUED,
            ).update(current=invocation, updated_at=timezone.now())
            if not claimed:
                transaction.set_rollback(True)
                return None
            event.attempts.add(invocation)
            if last is not None:
                for observer in retry_observers:
                    observer(last, invocation)
    except sandbox_services.LimitReached:
        with transaction.atomic():
            event.throttles += 1
            AsyncEvent.objects.filter(pk=event.pk).update(throttles=event.throttles)
            _schedule(event, delay_s=_throttle_delay(event.throttles))
        return event
    except ValidationError as exc:
        # The version it ran is gone, or the function now exceeds the cohort's quota.
        with transaction.atomic():
            event.destination_note = " ".join(exc.messages)[:500]
            _finish(event, status=AsyncEvent.Status.FAILED, last=last, now=now)
        return event
    event.current = invocation
    return event


_CONDITIONS = {
    AsyncEvent.Status.SUCCEEDED: "Success",
    AsyncEvent.Status.FAILED: "RetriesExhausted",
    AsyncEvent.Status.EXPIRED: "EventAgeExceeded",
}


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def destination_record(
    *, event: AsyncEvent, last: Invocation | None, status: str, now: datetime
) -> dict[str, Any]:
    """Lambda's invocation record, as a destination receives it."""
    from sandbox.api.shapes import function_arn

    arn = function_arn(
        event.function.name, event.qualifier or LATEST, account=account_for(event.function.owner)
    )
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": _timestamp(now),
        "requestContext": {
            "requestId": str(event.request_id),
            "functionArn": arn,
            "condition": _CONDITIONS[AsyncEvent.Status(status)],
            "approximateInvokeCount": event.invoke_count,
        },
        "requestPayload": json.loads(event.event),
    }
    if last is not None and last.status != Invocation.Status.THROTTLED:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": event.executed_version}
        if last.status == Invocation.Status.SUCCESS:
            payload = last.payload
        else:
            context["functionError"] = "Unhandled"
            payload = last.error or {
                "errorMessage": last.failure_reason or "The sandbox could not run the function.",
                "errorType": "ServiceException",
            }
        record["responseContext"] = context
        record["responsePayload"] = payload
    return record


def _finish(
    event: AsyncEvent, *, status: str, last: Invocation | None, now: datetime | None = None
) -> None:
    """End an asynchronous invocation and send its record to OnSuccess or OnFailure. Call
    inside a transaction."""
    now = now or timezone.now()
    event.status = status
    event.finished_at = now
    config = _event_settings(event)
    arn = config.on_success if status == AsyncEvent.Status.SUCCEEDED else config.on_failure
    if arn:
        event.destination = arn
        record = destination_record(event=event, last=last, status=status, now=now)
        note = _deliver(event, arn=arn, record=record)
        event.destination_note = (note or event.destination_note)[:500]
    event.save(
        update_fields=["status", "finished_at", "destination", "destination_note", "updated_at"]
    )


def _deliver(event: AsyncEvent, *, arn: str, record: dict[str, Any]) -> str:
    """Invoke the destination function asynchronously with record; return what went wrong
    (or "" when it was queued). Past the learner's limits it is queued to retry, throttled."""
    match = _DESTINATION_RE.match(arn)
    if match is not None and match["service"] in ("sqs", "sns"):
        event_id, text = event.pk, json.dumps(record)
        # A network call: made once the transaction has committed, not while it holds locks.
        transaction.on_commit(lambda: _deliver_to_lab(event_id=event_id, arn=arn, text=text))
        return ""
    resource = _FUNCTION_RESOURCE_RE.match(match["resource"]) if match else None
    if resource is None:
        return f"The destination {arn} is not a Lambda function."
    if event.depth + 1 >= DESTINATION_DEPTH:
        return (
            f"Not delivered to {arn}: {DESTINATION_DEPTH} destinations in a row looks like a "
            "recursive loop, which Lambda stops too."
        )
    target = Function.objects.filter(owner=event.function.owner, name=resource["name"]).first()
    if target is None:
        return f"Not delivered: the destination function {arn} does not exist."
    qualifier = resource["qualifier"] or LATEST
    try:
        version, spec = qualifier_spec(function=target, qualifier=qualifier)
    except ValidationError as exc:
        return f"Not delivered to {arn}: {' '.join(exc.messages)}"
    text = json.dumps(record)
    try:
        async_invoke(
            function=target,
            requested_by=event.requested_by,
            event_text=text,
            qualifier=qualifier,
            executed_version=version,
            spec=spec,
            depth=event.depth + 1,
        )
    except sandbox_services.LimitReached:
        queued = AsyncEvent.objects.create(
            function=target,
            requested_by=event.requested_by,
            request_id=uuid.uuid4(),
            qualifier=qualifier,
            executed_version=version,
            event=text,
            depth=event.depth + 1,
            throttles=1,
        )
        _schedule(queued, delay_s=_throttle_delay(1))
    except ValidationError as exc:
        return f"Not delivered to {arn}: {' '.join(exc.messages)}"
    return ""


# ---------------------------------------------------------------- provisioned concurrency


def provisioned_concurrency_put(
    *, function: Function, qualifier: str, version_number: int, requested: int
) -> ProvisionedConcurrencyConfig:
    """Ask for `requested` provisioned environments of function:qualifier (a version, or an
    alias of version_number). The config is IN_PROGRESS until the worker that owns the
    function has started them (READY) or could not (FAILED).

    Raises ValidationError with code "conflict" when the version already has provisioned
    concurrency through another qualifier, and plain ValidationError for a count below 1,
    past the learner's SANDBOX_LEARNER_PROVISIONED (the console's provisioned environments
    included) or above the function's reserved concurrency.
    """
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise ValidationError(
            "ProvisionedConcurrentExecutions must be a whole number of 1 or more."
        )
    owner = function.owner
    with transaction.atomic():
        sandbox_services.learner_lock(user=owner)
        sandbox_services.serialise(name="reservations")
        other = (
            function.provisioned_configs.filter(version_number=version_number)
            .exclude(qualifier=qualifier)
            .first()
        )
        if other is not None:
            raise ValidationError(
                f"Version {version_number} already has provisioned concurrency through "
                f"{other.qualifier}.",
                code="conflict",
            )
        elsewhere = ProvisionedConcurrencyConfig.objects.filter(function__owner=owner).exclude(
            function=function, qualifier=qualifier
        )
        others = elsewhere.aggregate(total=Sum("requested"))["total"] or 0
        console = (
            Function.objects.filter(owner=owner).aggregate(total=Sum("provisioned_concurrency"))[
                "total"
            ]
            or 0
        )
        cap = settings.SANDBOX_LEARNER_PROVISIONED
        if others + console + requested > cap:
            raise ValidationError(
                f"Each learner may keep at most {cap} provisioned environments across their "
                f"functions and versions; yours keep {others + console} already."
            )
        reserved = function.reserved_concurrency
        mine = elsewhere.filter(function=function).aggregate(total=Sum("requested"))["total"] or 0
        if reserved is not None and mine + requested > reserved:
            raise ValidationError(
                f"Requested Provisioned Concurrency should not be greater than the reserved "
                f"concurrency for function ({reserved})."
            )
        config, _ = ProvisionedConcurrencyConfig.objects.update_or_create(
            function=function,
            qualifier=qualifier,
            defaults={
                "version_number": version_number,
                "requested": requested,
                "allocated": 0,
                "status": ProvisionedConcurrencyConfig.Status.IN_PROGRESS,
                "status_reason": "",
            },
        )
        _provision_on_commit(function, version_number)
    return config


def provisioned_concurrency_delete(*, config: ProvisionedConcurrencyConfig) -> None:
    """Remove a provisioned concurrency config; the worker shuts the environments down."""
    with transaction.atomic():
        config.delete()
        _provision_on_commit(config.function, config.version_number)


def _provision_on_commit(function: Function, version_number: int) -> None:
    from sandbox import routing

    function_id = function.pk

    def send() -> None:
        try:
            routing.task_send(
                _task("provisioned_concurrency_apply"),
                args=[function_id, version_number],
                key=routing.routing_key(function_id=function_id),
            )
        except routing.QueueUnavailable as exc:
            ProvisionedConcurrencyConfig.objects.filter(
                function_id=function_id, version_number=version_number
            ).update(
                status=ProvisionedConcurrencyConfig.Status.FAILED,
                status_reason=f"The sandbox's queue could not be reached: {exc}"[:500],
            )

    transaction.on_commit(send)


def provisioned_concurrency_apply(*, function_id: int, version_number: int) -> int | None:
    """In the sandbox worker: start (or shut down) a version's provisioned environments to
    match its config, and record how many are ready. Returns that count (None: no version).

    Idempotent: the pool starts only what is missing.
    """
    from sandbox.engine import JailUnavailable
    from sandbox.pool import get_pool

    version = (
        FunctionVersion.objects.filter(function_id=function_id, number=version_number)
        .select_related("function")
        .first()
    )
    if version is None:
        return None
    spec = version_spec(version=version)
    configs = ProvisionedConcurrencyConfig.objects.filter(
        function_id=function_id, version_number=version_number
    )
    try:
        pool = get_pool()
        pool.provision(spec)
    except JailUnavailable as exc:
        configs.update(
            status=ProvisionedConcurrencyConfig.Status.FAILED,
            status_reason=f"The sandbox cannot isolate code on this worker: {exc}"[:500],
        )
        return 0
    ready = sum(
        1
        for env in pool.environments()
        if env["provisioned"] and env["version_key"] == spec.version_key
    )
    if ready >= spec.provisioned_concurrency:
        configs.update(
            status=ProvisionedConcurrencyConfig.Status.READY, allocated=ready, status_reason=""
        )
    else:
        configs.update(
            status=ProvisionedConcurrencyConfig.Status.FAILED,
            allocated=ready,
            status_reason=(
                f"{ready} of {spec.provisioned_concurrency} environments could be started: the "
                "handler's INIT failed, or the sandbox's memory budget is full."
            ),
        )
    return ready


# ---------------------------------------------------------------- function URLs and permissions

_URL_ID_ALPHABET = string.ascii_lowercase + string.digits
_CORS_FIELDS = {
    "AllowCredentials": bool,
    "AllowHeaders": list,
    "AllowMethods": list,
    "AllowOrigins": list,
    "ExposeHeaders": list,
    "MaxAge": int,
}


def _check_cors(cors: Any) -> dict[str, Any]:
    if cors is None:
        return {}
    if not isinstance(cors, dict):
        raise ValidationError("Cors must be a structure.")
    for name, value in cors.items():
        kind = _CORS_FIELDS.get(name)
        if kind is None:
            raise ValidationError(f"Cors has no field {name}.")
        if kind is list and not (
            isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        ):
            raise ValidationError(f"Cors.{name} must be a list of strings.")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValidationError("Cors.MaxAge must be a whole number of seconds, at most 86400.")
        if kind is int and value > 86400:
            raise ValidationError("Cors.MaxAge must be a whole number of seconds, at most 86400.")
        if kind is bool and not isinstance(value, bool):
            raise ValidationError("Cors.AllowCredentials must be true or false.")
    return dict(cors)


def _check_auth_type(auth_type: Any) -> str:
    if auth_type not in FunctionUrlConfig.AuthType.values:
        raise ValidationError("AuthType must be NONE or AWS_IAM.")
    return str(auth_type)


def function_url_create(
    *, function: Function, qualifier: str, auth_type: str, cors: Any = None
) -> FunctionUrlConfig:
    """Give function:qualifier ($LATEST or an alias) a URL. Raises ValidationError with code
    "exists" when it has one, and plain ValidationError for a bad AuthType or Cors."""
    config = FunctionUrlConfig(
        function=function,
        qualifier=qualifier,
        auth_type=_check_auth_type(auth_type),
        cors=_check_cors(cors),
        url_id="".join(secrets.choice(_URL_ID_ALPHABET) for _ in range(32)),
    )
    if function.url_configs.filter(qualifier=qualifier).exists():
        raise ValidationError("Function URL config already exists", code="exists")
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError:
        raise ValidationError("Function URL config already exists", code="exists") from None
    return config


def function_url_update(
    *, config: FunctionUrlConfig, auth_type: str | None = None, cors: Any = None
) -> FunctionUrlConfig:
    """Change a URL's AuthType or Cors (None leaves either as it is)."""
    if auth_type is not None:
        config.auth_type = _check_auth_type(auth_type)
    if cors is not None:
        config.cors = _check_cors(cors)
    config.save()
    return config


def function_url_delete(*, config: FunctionUrlConfig) -> None:
    config.delete()


_ACTION_RE = re.compile(r"^(?:lambda:[*]|lambda:[A-Za-z]+|[*])$")
_SID_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def permission_add(
    *,
    function: Function,
    qualifier: str,
    sid: str,
    action: str,
    principal: str,
    source_arn: str = "",
    source_account: str = "",
    function_url_auth_type: str = "",
    invoked_via_function_url: bool | None = None,
) -> PolicyStatement:
    """Add a statement to function's resource-based policy (AddPermission).

    Raises ValidationError with code "exists" for a statement id already used, plain
    ValidationError for a malformed id, action, principal or FunctionUrlAuthType.
    """
    if not isinstance(sid, str) or not _SID_RE.match(sid):
        raise ValidationError("StatementId must be 1-100 letters, digits, - or _.")
    if not isinstance(action, str) or not _ACTION_RE.match(action):
        raise ValidationError(
            f"1 validation error detected: Value '{action}' at 'action' failed to satisfy "
            r"constraint: Member must satisfy regular expression pattern: "
            r"(lambda:[*]|lambda:[a-zA-Z]+|[*])"
        )
    if not isinstance(principal, str) or not principal:
        raise ValidationError("Principal is required.")
    if function_url_auth_type and function_url_auth_type not in FunctionUrlConfig.AuthType.values:
        raise ValidationError("FunctionUrlAuthType must be NONE or AWS_IAM.")
    if function.policy.filter(qualifier=qualifier, sid=sid).exists():
        raise ValidationError(
            f"The statement id ({sid}) provided already exists. Please provide a new statement "
            "id, or remove the existing statement.",
            code="exists",
        )
    try:
        with transaction.atomic():
            return PolicyStatement.objects.create(
                function=function,
                qualifier=qualifier,
                sid=sid,
                action=action,
                principal=principal,
                source_arn=source_arn or "",
                source_account=source_account or "",
                function_url_auth_type=function_url_auth_type or "",
                invoked_via_function_url=invoked_via_function_url,
            )
    except IntegrityError:
        raise ValidationError(
            f"The statement id ({sid}) provided already exists.", code="exists"
        ) from None


def permission_remove(*, statement: PolicyStatement) -> None:
    statement.delete()


def _deliver_to_lab(*, event_id: int, arn: str, text: str) -> None:
    """Send an invocation record to an SQS queue or SNS topic of the learner's lab account
    (moto); a failure is noted on the event, as Lambda counts DestinationDeliveryFailures."""
    from botocore.exceptions import BotoCoreError, ClientError

    from sandbox.aws.clients import LabServicesUnavailable, lab_client

    match = _DESTINATION_RE.match(arn)
    assert match is not None
    try:
        if match["service"] == "sqs":
            sqs = lab_client("sqs", account_id=match["account"])
            url = sqs.get_queue_url(QueueName=match["resource"])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=text)
        else:
            lab_client("sns", account_id=match["account"]).publish(TopicArn=arn, Message=text)
    except (BotoCoreError, ClientError, LabServicesUnavailable) as exc:
        AsyncEvent.objects.filter(pk=event_id).update(
            destination_note=f"Not delivered to {arn}: {exc}"[:500]
        )
