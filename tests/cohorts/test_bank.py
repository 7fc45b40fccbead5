"""learn/cohorts/bank.py and its pages: GIFT and Markdown import with a dry run, GIFT export."""

import io
import zipfile
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile

from learn.cohorts import bank
from learn.content_report import LoadReport
from learn.models import Lesson, Module
from learn.practice.loader import load_questions
from learn.practice.models import Question, QuestionVersion
from tests.practice.conftest import CONTENT, lesson_slugs

pytestmark = pytest.mark.django_db

EVERY = (Path(__file__).parent / "data" / "every_construct.gift").read_bytes()


@pytest.fixture
def course(db) -> list[Lesson]:
    module = Module.objects.create(slug="course", title="Course", order=1)
    return [
        Lesson.objects.create(module=module, slug=slug, title=slug.title(), order=n)
        for n, slug in enumerate(lesson_slugs())
    ]


def run(data: bytes, actor, *, dry_run: bool, name: str = "every.gift", fmt: str = "gift"):
    items = bank.items_parse(name=name, data=data, file_format=fmt)
    return bank.bank_import(items=items, actor=actor, dry_run=dry_run, source=name)


def summary(rows):
    return [(r.slug, r.action, r.reason) for r in rows]


def test_dry_run_lists_exactly_what_the_import_then_does(course, instructor) -> None:
    dry = run(EVERY, instructor, dry_run=True)
    assert not Question.objects.exists() and not LogEntry.objects.exists()
    real = run(EVERY, instructor, dry_run=False)
    assert summary(dry) == summary(real)
    actions = [r.action for r in real]
    assert actions.count("create") == 10 and actions.count("reject") == 5
    rejected = {r.label: r.reason for r in real if r.action == "reject"}
    assert any("essay" in reason for reason in rejected.values())
    assert Question.objects.count() == 10 and QuestionVersion.objects.count() == 10
    assert LogEntry.objects.filter(user=instructor).count() == 10
    numeric = Question.objects.get(slug="price-numeric").current_version
    assert numeric.numeric_unit == "USD" and str(numeric.numeric_answer).startswith("0.0000166667")


def test_importing_twice_changes_nothing(course, instructor) -> None:
    run(EVERY, instructor, dry_run=False)
    before = list(QuestionVersion.objects.values_list("pk", "content_hash"))
    logged = LogEntry.objects.count()
    again = run(EVERY, instructor, dry_run=False)
    assert {r.action for r in again} == {"unchanged", "reject"}
    assert list(QuestionVersion.objects.values_list("pk", "content_hash")) == before
    assert LogEntry.objects.count() == logged


def test_a_changed_question_is_an_update_with_a_new_version(course, instructor) -> None:
    run(EVERY, instructor, dry_run=False)
    edited = EVERY.replace(b"=15 minutes#Yes", b"=900 seconds#Yes").replace(
        b"[id:tf-false]", b"[id:tf-false] [difficulty:hard]"
    )
    dry = {r.slug: r for r in run(edited, instructor, dry_run=True)}
    assert dry["max-timeout"].action == "update" and "new version" in dry["max-timeout"].reason
    assert (
        dry["tf-false"].action == "update"
        and "difficulty 'medium' → 'hard'" in dry["tf-false"].reason
    )
    assert dry["tf-true"].action == "unchanged"
    assert Question.objects.get(slug="max-timeout").versions.count() == 1
    run(edited, instructor, dry_run=False)
    question = Question.objects.get(slug="max-timeout")
    assert question.versions.count() == 2 and question.current_version.number == 2
    back = {r.slug: r for r in run(EVERY, instructor, dry_run=True)}
    assert back["max-timeout"].reason.startswith("back to version 1")


def test_the_same_slug_twice_in_a_file_is_rejected(course, instructor) -> None:
    text = b"// [id:twice] [lesson:limits]\nA? {T}\n\n// [id:twice] [lesson:limits]\nB? {F}\n"
    rows = run(text, instructor, dry_run=False)
    assert [r.action for r in rows] == ["create", "reject"]
    assert "also used at line 2" in rows[1].reason


def test_exporting_the_shipped_bank_and_importing_it_changes_nothing(course, instructor) -> None:
    load_questions(root=CONTENT, report=LoadReport())
    versions = QuestionVersion.objects.count()
    text, skipped = bank.bank_export_gift()
    assert skipped and all(q.type == "code" for q in skipped)
    rows = run(text.encode(), instructor, dry_run=False, name="bank.gift")
    exported = Question.objects.exclude(type="code").filter(current_version__isnull=False).count()
    assert len(rows) == exported
    assert {(r.action, r.reason) for r in rows} == {("unchanged", "same as the bank")}
    assert QuestionVersion.objects.count() == versions


def markdown_file(slug: str = "md-question", text: str = "What is it?") -> bytes:
    return (
        f"---\nslug: {slug}\ntype: true_false\nlesson: limits\ntags: [limits]\n"
        f"difficulty: easy\nanswer: true\n---\n\n{text}\n\n## Explanation\n\nBecause.\n"
    ).encode()


def test_markdown_import_of_a_file_and_a_zip(course, instructor) -> None:
    rows = run(markdown_file(), instructor, dry_run=False, name="q.md", fmt="markdown")
    assert summary(rows) == [("md-question", "create", "new true_false question")]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("questions/limits/md-question.md", markdown_file())
        archive.writestr("questions/limits/other.md", markdown_file("other", "Other?"))
        archive.writestr("questions/limits/broken.md", b"no front matter")
    rows = run(buffer.getvalue(), instructor, dry_run=False, name="q.zip", fmt="markdown")
    assert [(r.slug, r.action) for r in rows] == [
        ("", "reject"),
        ("md-question", "unchanged"),
        ("other", "create"),
    ]
    assert "front matter" in rows[0].reason


def test_learners_cannot_import_or_export(client, learner) -> None:
    client.force_login(learner)
    assert client.get("/instructor/bank/import/").status_code == 403
    assert client.post("/instructor/bank/import/").status_code == 403
    assert client.get("/instructor/bank/export.gift").status_code == 403


def test_import_page_dry_run_then_import(client, course, instructor) -> None:
    client.force_login(instructor)
    upload = SimpleUploadedFile("every.gift", EVERY)
    response = client.post("/instructor/bank/import/", {"file": upload, "dry_run": "1"})
    html = " ".join(response.content.decode().split())
    assert "Dry run: nothing was changed" in html
    assert "Would create 10, update 0, unchanged 0, rejected 5." in html
    assert not Question.objects.exists()
    upload = SimpleUploadedFile("every.gift", EVERY)
    html = " ".join(
        client.post("/instructor/bank/import/", {"file": upload, "import": "1"})
        .content.decode()
        .split()
    )
    assert "Created 10, updated 0, unchanged 0, rejected 5." in html
    assert Question.objects.count() == 10
    export = client.get("/instructor/bank/export.gift")
    assert export["Content-Disposition"].endswith('.gift"')
    assert "// [id:max-timeout]" in export.content.decode()


def test_follow_ups_survive_gift_and_the_editor(course, instructor, client) -> None:
    from learn.practice.models import FollowUp

    text = (
        b"// [id:why-cold] [lesson:limits]\n"
        b"Why are cold starts slow? {=INIT runs first ####Model answer.}\n"
    )
    run(text, instructor, dry_run=False)
    question = Question.objects.get(slug="why-cold")
    version = question.current_version
    FollowUp.objects.create(version=version, order=0, text="And with provisioned concurrency?")
    exported, _ = bank.bank_export_gift()
    rows = run(exported.encode(), instructor, dry_run=False)
    assert [r.action for r in rows] == ["unchanged"]
    edited = text.replace(b"=INIT runs first", b"=INIT runs first =the code is loaded")
    (row,) = run(edited, instructor, dry_run=False)
    assert row.action == "update"
    question.refresh_from_db()
    assert [f.text for f in question.current_version.follow_ups.all()] == [
        "And with provisioned concurrency?"
    ]
