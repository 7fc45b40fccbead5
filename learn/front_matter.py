"""Markdown files with YAML front matter: the format of everything in learn/content/."""

import re
from typing import Any

import yaml

FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)


class FrontMatterError(ValueError):
    """The file has no front matter, or it is not a YAML mapping."""


def front_matter_split(text: str) -> tuple[dict[str, Any], str]:
    """Return the front matter as a mapping and the Markdown body after it."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        raise FrontMatterError("no front matter: the file must start with a '---' line")
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"front matter is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise FrontMatterError("front matter must be a mapping of keys to values")
    return data, match.group(2)
