"""Fixtures for the lesson tests: a throwaway content folder, and the shipped course loaded."""

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from learn.content_report import LoadReport
from learn.services.content import CONTENT_ROOT, content_load

MODULES = """\
- slug: basics
  title: Basics
  order: 1
  summary: The basics.
- slug: advanced
  title: Advanced
  order: 2
  summary: Beyond the basics.
"""


def lesson_text(
    slug: str, *, module: str = "basics", order: int = 1, body: str = "", **extra: str
) -> str:
    """A valid lesson file; `extra` adds or replaces raw front matter lines (key: yaml)."""
    front = {
        "slug": slug,
        "title": f"Lesson {slug}",
        "module": module,
        "order": str(order),
        "summary": f"About {slug}.",
        "minutes": "5",
        "prerequisites": "[]",
        "published": "true",
        "objectives": "[Do a thing.]",
        "takeaways": "[A thing was done.]",
    }
    front.update(extra)
    lines = "\n".join(f"{key}: {value}" for key, value in front.items() if value is not None)
    body = body or f"## Intro to {slug}\n\nText about {slug}.\n"
    return f"---\n{lines}\n---\n\n{textwrap.dedent(body)}"


class ContentDir:
    """A content folder under tmp_path: modules.yaml, lessons/ and an empty questions/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "lessons").mkdir(parents=True)
        (root / "questions").mkdir()
        (root / "modules.yaml").write_text(MODULES)

    def lesson(self, name: str, text: str) -> Path:
        path = self.root / "lessons" / name
        path.write_text(text)
        return path

    def load(self) -> LoadReport:
        return content_load(root=self.root)


@pytest.fixture
def content_dir(tmp_path: Path) -> ContentDir:
    return ContentDir(tmp_path / "content")


@pytest.fixture
def shipped_content(tmp_path: Path) -> Callable[[], Path]:
    """A copy of learn/content/ that a test may modify."""

    def copy() -> Path:
        target = tmp_path / "shipped"
        shutil.copytree(CONTENT_ROOT, target)
        return target

    return copy


@pytest.fixture
def course(db: None) -> LoadReport:
    """The shipped course (modules, lessons and questions) loaded into the test database."""
    report = content_load(root=CONTENT_ROOT)
    assert report.ok, report.summary_lines()
    return report
