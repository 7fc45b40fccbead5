"""Reads of the Lambda API: access keys, versions, aliases and asynchronous invocation configs."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404

from sandbox.api.models import (
    AccessKey,
    Alias,
    EventInvokeConfig,
    FunctionUrlConfig,
    FunctionVersion,
    PolicyStatement,
    ProvisionedConcurrencyConfig,
)
from sandbox.models import Function


def access_key_list(*, owner: User) -> QuerySet[AccessKey]:
    return AccessKey.objects.filter(owner=owner)


def access_key_get(*, owner: User, pk: int) -> AccessKey:
    key = AccessKey.objects.filter(owner=owner, pk=pk).first()
    if key is None:
        raise Http404
    return key


def access_key_active(*, access_key_id: str) -> AccessKey | None:
    """The active key with this id, with its owner, or None (unknown or revoked)."""
    return (
        AccessKey.objects.select_related("owner")
        .filter(access_key_id=access_key_id, revoked_at__isnull=True, owner__is_active=True)
        .first()
    )


def function_find(*, owner: User, name: str) -> Function | None:
    """The owner's function called name: the API never looks beyond the caller's own."""
    return Function.objects.filter(owner=owner, name=name).first()


def function_page(*, owner: User, after: str = "", limit: int = 50) -> list[Function]:
    """Up to limit + 1 of the owner's functions by name, after the name `after` (a page and
    whether another follows), with their files for the package figures."""
    functions = Function.objects.filter(owner=owner).order_by("name")
    if after:
        functions = functions.filter(name__gt=after)
    return list(functions.prefetch_related("files")[: limit + 1])


def account_usage(*, owner: User) -> tuple[list[Function], int]:
    """The owner's functions (with files) and the concurrency they reserve in all."""
    functions = list(Function.objects.filter(owner=owner).prefetch_related("files"))
    return functions, sum(f.reserved_concurrency or 0 for f in functions)


def version_find(*, function: Function, number: int) -> FunctionVersion | None:
    return function.versions.filter(number=number).select_related("function").first()


def version_list(*, function: Function) -> QuerySet[FunctionVersion]:
    return function.versions.select_related("function").order_by("number")


def alias_find(*, function: Function, name: str) -> Alias | None:
    return function.aliases.filter(name=name).select_related("function").first()


def alias_list(*, function: Function, function_version: str | None = None) -> list[Alias]:
    """The function's aliases by name; given function_version, those that route to it."""
    aliases = list(function.aliases.select_related("function").order_by("name"))
    if function_version:
        aliases = [
            a
            for a in aliases
            if a.function_version == function_version or function_version in a.additional_weights
        ]
    return aliases


def event_invoke_config_find(*, function: Function, qualifier: str) -> EventInvokeConfig | None:
    return (
        function.event_invoke_configs.filter(qualifier=qualifier).select_related("function").first()
    )


def event_invoke_config_list(*, function: Function) -> list[EventInvokeConfig]:
    return list(function.event_invoke_configs.select_related("function").order_by("qualifier"))


def provisioned_config_find(
    *, function: Function, qualifier: str
) -> ProvisionedConcurrencyConfig | None:
    return (
        function.provisioned_configs.filter(qualifier=qualifier).select_related("function").first()
    )


def provisioned_config_list(*, function: Function) -> list[ProvisionedConcurrencyConfig]:
    return list(function.provisioned_configs.select_related("function").order_by("qualifier"))


def function_url_find(*, function: Function, qualifier: str) -> FunctionUrlConfig | None:
    return function.url_configs.filter(qualifier=qualifier).select_related("function").first()


def function_url_list(*, function: Function) -> list[FunctionUrlConfig]:
    return list(function.url_configs.select_related("function").order_by("qualifier"))


def function_url_by_id(*, url_id: str) -> FunctionUrlConfig | None:
    """The URL config served at /lambda-url/<url_id>/, with its function and owner."""
    return (
        FunctionUrlConfig.objects.filter(url_id=url_id)
        .select_related("function", "function__owner")
        .first()
    )


def policy_statements(*, function: Function, qualifier: str) -> list[PolicyStatement]:
    return list(function.policy.filter(qualifier=qualifier).select_related("function"))
