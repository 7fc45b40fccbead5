"""learn/services/content.py: load_content's import of modules and lessons, and export."""

from pathlib import Path

import pytest
import yaml

from learn.models import Lesson, LessonProgress, Module, Note
from learn.services.content import (
    ContentError,
    lesson_export_markdown,
    lesson_source_parse,
)
from tests.factories import UserFactory
from tests.learn.conftest import ContentDir, lesson_text

pytestmark = pytest.mark.django_db


def test_first_load_creates_modules_and_lessons_in_order(content_dir: ContentDir) -> None:
    content_dir.lesson("01-a.md", lesson_text("a"))
    content_dir.lesson("02-b.md", lesson_text("b", order=2, prerequisites="[a]"))
    content_dir.lesson("03-c.md", lesson_text("c", module="advanced"))

    report = content_dir.load()

    assert report.ok, report.errors
    assert sorted(report.created) == [
        "lesson a", "lesson b", "lesson c", "module advanced", "module basics",
    ]  # fmt: skip
    b = Lesson.objects.get(slug="b")
    assert b.module.slug == "basics"
    assert [p.slug for p in b.prerequisites.all()] == ["a"]
    assert b.objectives == ["Do a thing."]
    assert b.source_path == "lessons/02-b.md"
    assert '<h2 id="intro-to-b">' in b.body_html
    assert b.content_version and b.rendered_version


def test_second_load_changes_nothing(content_dir: ContentDir) -> None:
    content_dir.lesson("01-a.md", lesson_text("a"))
    content_dir.load()
    before = Lesson.objects.get(slug="a").updated_at

    report = content_dir.load()

    assert report.ok
    assert report.created == [] and report.updated == []
    assert sorted(report.unchanged) == [
        "lesson a", "module advanced", "module basics",
    ]  # fmt: skip
    assert Lesson.objects.get(slug="a").updated_at == before


def test_edit_updates_in_place_and_keeps_learner_data(content_dir: ContentDir) -> None:
    path = content_dir.lesson("01-a.md", lesson_text("a"))
    content_dir.load()
    lesson = Lesson.objects.get(slug="a")
    user = UserFactory()
    LessonProgress.objects.create(user=user, lesson=lesson)
    Note.objects.create(user=user, lesson=lesson, text="mine")

    path.write_text(lesson_text("a", title="A better title", body="## New\n\nRewritten.\n"))
    report = content_dir.load()

    assert report.updated == ["lesson a"]
    updated = Lesson.objects.get(slug="a")
    assert updated.pk == lesson.pk
    assert updated.title == "A better title"
    assert "Rewritten." in updated.body_html
    assert updated.content_version != lesson.content_version
    assert LessonProgress.objects.filter(user=user, lesson=updated).exists()
    assert Note.objects.get(user=user).text == "mine"


def test_file_removed_from_content_keeps_its_lesson(content_dir: ContentDir) -> None:
    path = content_dir.lesson("01-a.md", lesson_text("a"))
    content_dir.load()
    path.unlink()

    assert content_dir.load().ok
    assert Lesson.objects.filter(slug="a").exists()


def test_malformed_file_is_reported_with_its_path_and_the_rest_load(
    content_dir: ContentDir,
) -> None:
    content_dir.lesson("01-a.md", lesson_text("a"))
    content_dir.lesson("02-broken.md", "---\nslug: [unclosed\n---\nbody\n")
    content_dir.lesson("03-c.md", lesson_text("c"))

    report = content_dir.load()

    assert not report.ok
    assert [path for path, _ in report.errors] == ["lessons/02-broken.md"]
    assert "not valid YAML" in report.errors[0][1]
    assert set(Lesson.objects.values_list("slug", flat=True)) == {"a", "c"}


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"minutes": "'ten'"}, "'minutes' must be a whole number"),
        ({"order": "true"}, "'order' must be a whole number"),
        ({"published": "'yes'"}, "'published' must be a bool"),
        ({"title": None}, "missing required key(s): title"),
        ({"colour": "blue"}, "unknown key(s): colour"),
        ({"slug": "Not_A_Slug"}, "lowercase letters, digits and hyphens"),
        ({"objectives": "[1, 2]"}, "'objectives' must be a list of non-empty strings"),
        ({"prerequisites": "[x]", "slug": "x"}, "cannot be its own prerequisite"),
        ({"try_it": "{title: t}"}, "try_it: missing required key(s)"),
    ],
)
def test_front_matter_is_validated_strictly(extra: dict[str, str | None], problem: str) -> None:
    fields = dict(extra)
    slug = fields.pop("slug", None) or "x"
    with pytest.raises(ContentError) as raised:
        lesson_source_parse(text=lesson_text(slug, **fields), path="lessons/x.md")
    assert problem in str(raised.value)


def test_try_it_handler_must_name_a_shipped_file() -> None:
    try_it = (
        "\n  title: T\n  description: D\n  handler: main.handler\n  memory_mb: 128\n"
        "  timeout_s: 3\n  files:\n    app.py: 'def handler(e, c): return 1'\n  event: {}"
    )
    with pytest.raises(ContentError, match=r"needs a file named main\.py"):
        lesson_source_parse(text=lesson_text("x", try_it=try_it), path="lessons/x.md")


def test_file_without_front_matter_is_reported(content_dir: ContentDir) -> None:
    content_dir.lesson("01-a.md", "# Just Markdown\n")
    report = content_dir.load()
    assert report.errors == [
        ("lessons/01-a.md", "no front matter: the file must start with a '---' line")
    ]


def test_unknown_module_and_unknown_prerequisite_are_reported(content_dir: ContentDir) -> None:
    content_dir.lesson("01-a.md", lesson_text("a", module="nowhere"))
    content_dir.lesson("02-b.md", lesson_text("b", prerequisites="[ghost]"))

    report = content_dir.load()

    assert dict(report.errors) == {
        "lessons/01-a.md": "unknown module 'nowhere' (not in modules.yaml)",
        "lessons/02-b.md": "unknown prerequisite(s): ghost",
    }
    assert not Lesson.objects.exists()


def test_duplicate_slug_keeps_the_first_file(content_dir: ContentDir) -> None:
    content_dir.lesson("01-a.md", lesson_text("a", title="First"))
    content_dir.lesson("02-a-again.md", lesson_text("a", title="Second"))

    report = content_dir.load()

    assert report.errors == [
        ("lessons/02-a-again.md", "duplicate slug 'a' (also in lessons/01-a.md)")
    ]
    assert Lesson.objects.get(slug="a").title == "First"


def test_broken_modules_yaml_is_reported_and_lessons_still_load(content_dir: ContentDir) -> None:
    content_dir.load()  # the modules exist from a previous load
    (content_dir.root / "modules.yaml").write_text("- slug: basics\n  title: [oops\n")
    content_dir.lesson("01-a.md", lesson_text("a"))

    report = content_dir.load()

    assert report.errors[0][0] == "modules.yaml"
    assert Lesson.objects.filter(slug="a").exists()


def test_module_entries_are_validated(content_dir: ContentDir) -> None:
    (content_dir.root / "modules.yaml").write_text(
        "- slug: basics\n  title: Basics\n  order: first\n  summary: S\n"
    )
    report = content_dir.load()
    assert report.errors == [
        ("modules.yaml", "module #1: 'order' must be a whole number, not 'first'")
    ]
    assert not Module.objects.exists()


def test_questions_are_loaded_by_the_same_run(shipped_content) -> None:
    from learn.practice.models import Question
    from learn.services.content import content_load

    report = content_load(root=shipped_content())

    assert report.ok, report.summary_lines()
    assert Question.objects.exists()
    assert any(name.startswith("lesson ") for name in report.created)


def test_export_round_trips_through_the_loader(content_dir: ContentDir, tmp_path: Path) -> None:
    try_it = (
        "\n  title: Echo\n  description: |\n    Run it.\n    Twice.\n  handler: app.handler\n"
        "  memory_mb: 256\n  timeout_s: 3\n  files:\n    app.py: |\n"
        "      def handler(event, context):\n"
        '          return event\n  event: {"a": [1, 2]}'
    )
    content_dir.lesson("01-a.md", lesson_text("a"))
    content_dir.lesson("02-b.md", lesson_text("b", prerequisites="[a]", try_it=try_it))
    content_dir.load()
    lesson = Lesson.objects.get(slug="b")

    exported = lesson_export_markdown(lesson=lesson)
    front = yaml.safe_load(exported.split("---\n")[1])
    assert front["try_it"]["files"]["app.py"].startswith("def handler")
    assert front["prerequisites"] == ["a"]

    (content_dir.root / "lessons" / "02-b.md").write_text(exported)
    report = content_dir.load()
    assert report.ok and "lesson b" in report.unchanged, report.summary_lines()

    # An edit made in the admin, exported, also loads back as the same lesson.
    lesson.title = "Edited in the admin"
    lesson.save()
    (content_dir.root / "lessons" / "02-b.md").write_text(lesson_export_markdown(lesson=lesson))
    report = content_dir.load()
    assert report.updated == ["lesson b"]
    assert Lesson.objects.get(slug="b").title == "Edited in the admin"


def test_a_try_its_lab_is_checked_with_the_lesson() -> None:
    try_it = (
        "\n  title: T\n  description: D\n  handler: app.handler\n  memory_mb: 128\n"
        "  timeout_s: 3\n  files:\n    app.py: 'def handler(e, c): return 1'\n  event: {}\n"
        "  lab: {buckets: [photos], steps: [{put_object: {bucket: photos, key: a}}]}"
    )
    with pytest.raises(
        ContentError, match=r"try_it: lab: bucket 'photos': bucket names are global"
    ):
        lesson_source_parse(text=lesson_text("x", try_it=try_it), path="lessons/x.md")
    fixed = try_it.replace("photos", '"photos-{account}"')
    parsed = lesson_source_parse(text=lesson_text("x", try_it=fixed), path="lessons/x.md")
    assert parsed.data["try_it"]["lab"]["buckets"] == ["photos-{account}"]
