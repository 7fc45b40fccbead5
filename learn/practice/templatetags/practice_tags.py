"""Template filters of the practice pages."""

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    """A JSON value indented as the Lambda console shows events (keys in their order)."""
    return json.dumps(value, indent=2, ensure_ascii=False)
