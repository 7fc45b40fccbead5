"""Small formatting filters for the sandbox console."""

import json
from decimal import Decimal
from typing import Any

from django import template

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@register.filter
def usd(value: Decimal | None) -> str:
    """Dollars with enough digits for a single invocation ($0.0000002083) or a month ($12.34)."""
    if value is None:
        return "-"
    if value == 0:
        return "$0.00"
    if value >= 1:
        return f"${value:,.2f}"
    digits = max(2, -value.adjusted() + 3)
    return f"${value:.{min(digits, 12)}f}"


@register.filter
def lesson_url(slug: str) -> str:
    return f"/lessons/{slug}/"


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def editor_mode(path: str) -> str:
    """The code editor's language for a file: JavaScript for .js/.mjs/.cjs, else Python."""
    return "javascript" if str(path).endswith((".js", ".mjs", ".cjs")) else "python"
