"""Markdown → safe HTML for lessons and previews: one renderer, one sanitiser.

Markdown (with pymdown-extensions and Pygments CSS classes) produces HTML; nh3 then keeps only the
tags and attributes listed here, so whatever an author (or an attacker with admin access) writes,
no script, event handler, inline style or external reference reaches the page. The site's CSP
would block most of it anyway; the sanitiser means we never depend on that.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

import markdown
import nh3
from django.core.cache import cache

# Bump when the extensions or the allow-lists change: stored HTML is re-rendered on next read.
RENDERER_VERSION = "2"
CACHE_SECONDS = 24 * 3600

EXTENSIONS = [
    "admonition",
    "tables",
    "toc",
    "pymdownx.superfences",
    "pymdownx.highlight",
    "pymdownx.details",
]
EXTENSION_CONFIGS: dict[str, dict[str, Any]] = {
    "pymdownx.highlight": {"use_pygments": True, "css_class": "highlight", "guess_lang": False},
    "toc": {
        "permalink": "#",
        "permalink_title": "Link to this section",
        "toc_depth": "2-3",
    },
}

HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl",
    "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "samp", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
# The SVG the lessons draw diagrams with. Deliberately absent: script, style, foreignObject,
# use, image, a, animate*, set (all can run or load something).
SVG_TAGS = {
    "svg", "g", "rect", "line", "path", "polyline", "polygon", "circle", "ellipse", "text",
    "tspan", "title", "desc", "defs", "marker",
}  # fmt: skip
SVG_PRESENTATION = {
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-dasharray",
    "stroke-linecap", "stroke-linejoin", "stroke-opacity", "opacity", "transform",
    "font-family", "font-size", "font-weight", "font-style", "text-anchor",
    "dominant-baseline", "marker-start", "marker-mid", "marker-end",
}  # fmt: skip
SVG_GEOMETRY: dict[str, set[str]] = {
    "svg": {"viewBox", "xmlns", "width", "height", "preserveAspectRatio", "role", "aria-label",
            "aria-hidden", "focusable"},
    "rect": {"x", "y", "width", "height", "rx", "ry"},
    "line": {"x1", "y1", "x2", "y2"},
    "path": {"d"},
    "polyline": {"points"},
    "polygon": {"points"},
    "circle": {"cx", "cy", "r"},
    "ellipse": {"cx", "cy", "rx", "ry"},
    "text": {"x", "y", "dx", "dy"},
    "tspan": {"x", "y", "dx", "dy"},
    "marker": {"viewBox", "refX", "refY", "markerWidth", "markerHeight", "orient",
               "markerUnits"},
}  # fmt: skip

ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "id", "title", "aria-label", "aria-hidden", "role", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "details": {"open"},
    "code": {"class"},
}
for _tag in SVG_TAGS:
    ATTRIBUTES[_tag] = (
        ATTRIBUTES.get(_tag, set()) | SVG_PRESENTATION | SVG_GEOMETRY.get(_tag, set())
    )

URL_SCHEMES = {"http", "https", "mailto"}


@dataclass(frozen=True)
class RenderedMarkdown:
    html: str
    toc_html: str


def html_sanitize(*, html: str) -> str:
    """Keep only the allowed tags, attributes and URL schemes; drop script/style with content."""
    return nh3.clean(
        html,
        tags=HTML_TAGS | SVG_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        # A code block wider than the column scrolls sideways; keyboard users need to focus it.
        set_tag_attribute_values={"pre": {"tabindex": "0"}},
        strip_comments=True,
    )


def markdown_render(*, text: str) -> RenderedMarkdown:
    """Render Markdown to sanitised HTML plus its table of contents, cached by the text's digest.

    Never raises for odd input: Markdown has no syntax errors; anything unsafe is removed.
    """
    digest = hashlib.sha256(f"{RENDERER_VERSION}\0{text}".encode()).hexdigest()
    key = f"learn:markdown:{digest}"
    cached = cache.get(key)
    if cached is not None:
        return RenderedMarkdown(*cached)
    # A new instance per call: Markdown objects carry state and are not thread-safe.
    md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)
    html = md.convert(text)
    toc = getattr(md, "toc", "")
    toc_html = html_sanitize(html=toc) if getattr(md, "toc_tokens", None) else ""
    result = RenderedMarkdown(html=html_sanitize(html=html), toc_html=toc_html)
    cache.set(key, (result.html, result.toc_html), CACHE_SECONDS)
    return result


def rendered_version_for(*, content_version: str) -> str:
    """The version stamp of HTML rendered from content_version by this renderer."""
    return hashlib.sha256(f"{RENDERER_VERSION}\0{content_version}".encode()).hexdigest()


def code_highlight(*, code: str, language: str = "python") -> str:
    """Pygments HTML (CSS classes, like fenced code in lessons) for a code sample, sanitised.

    Cached by the code's digest: lesson pages show the same samples on every view.
    """
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    digest = hashlib.sha256(f"{RENDERER_VERSION}\0{language}\0{code}".encode()).hexdigest()
    key = f"learn:highlight:{digest}"
    cached = cache.get(key)
    if cached is not None:
        return str(cached)
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    html = html_sanitize(html=highlight(code, lexer, HtmlFormatter(cssclass="highlight")))
    cache.set(key, html, CACHE_SECONDS)
    return html


def markdown_render_inline(*, text: str) -> str:
    """Render one line of Markdown (a quiz choice) without its wrapping paragraph."""
    html = markdown_render(text=text).html.strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html
