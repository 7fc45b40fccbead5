"""Fixtures for the practice tests: the real lessons, so the shipped question bank loads."""

from pathlib import Path

import pytest
import yaml

from learn.models import Lesson, Module

CONTENT = Path(__file__).resolve().parents[2] / "learn" / "content"


def lesson_slugs() -> list[str]:
    slugs = []
    for path in sorted((CONTENT / "lessons").glob("*.md")):
        meta = yaml.safe_load(path.read_text().split("---", 2)[1])
        slugs.append(meta["slug"])
    return slugs


@pytest.fixture
def lessons(db: None) -> list[Lesson]:
    """A Lesson row for every shipped lesson (titles are not what these tests are about)."""
    module = Module.objects.create(slug="course", title="Course", order=1)
    return [
        Lesson.objects.create(
            module=module, slug=slug, title=slug.replace("-", " ").title(), order=n
        )
        for n, slug in enumerate(lesson_slugs())
    ]
