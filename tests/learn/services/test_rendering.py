"""learn/services/rendering.py: Markdown features, and that nothing unsafe survives."""

import time
from pathlib import Path

import pytest

from learn.services.content import CONTENT_ROOT, lesson_source_parse
from learn.services.rendering import html_sanitize, markdown_render

LESSON_FILES = sorted((CONTENT_ROOT / "lessons").glob("*.md"))


def render(text: str) -> str:
    return markdown_render(text=text).html


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">click</a>',
        '<svg onload="alert(1)"><rect width="1" height="1"/></svg>',
        '<svg><foreignObject><iframe src="https://evil.example"></iframe></foreignObject></svg>',
        '<svg><use href="https://evil.example/x.svg#a"/></svg>',
        '<svg><a href="javascript:alert(1)"><text>x</text></a></svg>',
        "<svg><script>alert(1)</script></svg>",
        '<p style="background:url(https://evil.example)">x</p>',
        "<style>body{display:none}</style>",
        '<iframe src="https://evil.example"></iframe>',
        '<form action="https://evil.example"><input name="a"></form>',
        '<div onclick="alert(1)">x</div>',
    ],
)
def test_nothing_executable_survives(attack: str) -> None:
    html = render(f"Before.\n\n{attack}\n\nAfter.")
    lowered = html.lower()
    for needle in (
        "<script", "onerror", "onload", "onclick", "javascript:", "style=", "<style",
        "<iframe", "foreignobject", "<use", "evil.example", "<form", "<input",
    ):  # fmt: skip
        assert needle not in lowered, (attack, html)
    assert "After." in html


def test_lesson_svg_diagrams_are_kept() -> None:
    svg = (
        '<figure class="diagram"><svg viewBox="0 0 100 50" xmlns="http://www.w3.org/2000/svg" '
        'role="img" aria-label="A box"><defs><marker id="arrow" refX="5" refY="5" '
        'markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        '</defs><g fill="currentColor" font-size="12"><rect x="1" y="2" width="30" height="20" '
        'rx="4" fill-opacity="0.2"/><text x="5" y="15" text-anchor="middle">INIT<tspan dy="3">'
        '!</tspan></text></g><line x1="0" y1="0" x2="10" y2="10" stroke="currentColor" '
        'marker-end="url(#arrow)"/><polygon points="0,0 1,1 2,0"/><circle cx="1" cy="1" r="1"/>'
        "<title>Diagram</title></svg><figcaption>Caption</figcaption></figure>"
    )
    html = render(svg)
    for kept in (
        'viewBox="0 0 100 50"', 'role="img"', 'aria-label="A box"', "<marker", 'refX="5"',
        '<path d="M0,0 L10,5 L0,10 z"', 'fill-opacity="0.2"', 'text-anchor="middle"', "<tspan",
        'marker-end="url(#arrow)"', "<polygon", "<circle", "<title>Diagram</title>", "<figcaption>",
    ):  # fmt: skip
        assert kept in html, kept


def test_markdown_features_render() -> None:
    text = (
        "## Cold starts\n\nText.\n\n### Init Duration\n\nMore.\n\n"
        '!!! warning "Careful"\n    Watch out.\n\n'
        "```python\ndef handler(event, context):\n    return 1\n```\n\n"
        "| Limit | Value |\n|---|---|\n| Timeout | 900 s |\n"
    )
    rendered = markdown_render(text=text)
    assert '<h2 id="cold-starts">' in rendered.html
    assert 'class="headerlink" href="#cold-starts"' in rendered.html
    assert '<div class="admonition warning">' in rendered.html
    assert '<div class="highlight"><pre tabindex="0">' in rendered.html
    assert '<span class="k">def</span>' in rendered.html
    assert "<table>" in rendered.html and "<td>900 s</td>" in rendered.html
    assert 'href="#init-duration"' in rendered.toc_html


def test_links_get_a_safe_rel() -> None:
    assert 'rel="noopener noreferrer"' in render("[AWS](https://aws.amazon.com/lambda/)")


def test_sanitiser_keeps_classes_for_pygments() -> None:
    assert html_sanitize(html='<span class="k">def</span>') == '<span class="k">def</span>'


@pytest.mark.parametrize("path", LESSON_FILES, ids=[p.name for p in LESSON_FILES])
def test_every_shipped_lesson_renders(path: Path) -> None:
    source = lesson_source_parse(text=path.read_text(), path=path.name)
    rendered = markdown_render(text=source.body)
    assert rendered.html.count("<h2") >= 2
    assert rendered.toc_html
    # Everything the author drew survives the sanitiser: as many <svg> as the source has.
    assert rendered.html.count("<svg") == source.body.count("<svg")
    assert "<script" not in rendered.html


def test_rendering_the_whole_course_is_quick(settings) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    bodies = [lesson_source_parse(text=p.read_text(), path=p.name).body for p in LESSON_FILES]
    started = time.perf_counter()
    for body in bodies:
        markdown_render(text=body)
    elapsed = time.perf_counter() - started
    # A generous bound: this guards against pathological slowness, not a benchmark.
    assert elapsed < 10, f"{len(bodies)} lessons took {elapsed:.2f} s"
