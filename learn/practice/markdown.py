"""Markdown → sanitised HTML for question prompts, explanations and choices."""

import markdown as md
import nh3

_EXTENSIONS = ["fenced_code", "tables", "sane_lists", "codehilite", "admonition"]
_CONFIG = {"codehilite": {"guess_lang": False, "css_class": "highlight"}}
_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "code": {"class"},
    "span": {"class"},
    "div": {"class"},
    "pre": {"class"},
    "p": {"class"},
}


def render(text: str) -> str:
    """Render a block of Markdown; anything scripts or styles could hide in is stripped."""
    html = md.markdown(text, extensions=_EXTENSIONS, extension_configs=_CONFIG)
    return nh3.clean(html, attributes=_ATTRIBUTES)


def render_inline(text: str) -> str:
    """Render one line (a choice) without the wrapping paragraph."""
    html = render(text).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html
