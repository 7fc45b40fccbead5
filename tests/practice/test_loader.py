from pathlib import Path
from textwrap import dedent

import pytest

from learn.content_report import LoadReport
from learn.practice.loader import load_questions
from learn.practice.models import AttemptItem, Question, QuestionVersion
from learn.practice.services.attempts import quiz_start
from tests.practice.conftest import CONTENT
from tests.practice.factories import LessonFactory

pytestmark = pytest.mark.django_db

GOOD = """\
---
slug: max-time
type: single
lesson: limits
tags: [limits, timeouts]
difficulty: easy
choices:
  - text: 15 minutes
    correct: true
    why: It is 900 s.
  - text: 5 minutes
    correct: false
    why: The old limit.
  - text: 1 hour
    correct: false
    why: Never.
---

How long can a function run?

## Explanation

Up to 900 seconds.
"""


@pytest.fixture
def root(tmp_path: Path, db: None) -> Path:
    LessonFactory(slug="limits")
    (tmp_path / "questions" / "limits").mkdir(parents=True)
    return tmp_path


def write(root: Path, name: str, text: str, lesson: str = "limits") -> None:
    folder = root / "questions" / lesson
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(dedent(text))


def load(root: Path) -> LoadReport:
    report = LoadReport()
    load_questions(root=root, report=report)
    return report


def test_every_shipped_question_file_loads_without_errors(lessons):
    report = load(CONTENT)
    assert report.errors == []
    assert len(report.created) == len(list((CONTENT / "questions").rglob("*.md")))
    assert Question.objects.filter(interview=True).count() >= 8


def test_loading_twice_changes_nothing(root):
    write(root, "max-time.md", GOOD)
    assert load(root).created == ["question max-time"]
    again = load(root)
    assert again.unchanged == ["question max-time"] and not again.created and not again.updated
    assert QuestionVersion.objects.count() == 1


def test_an_edit_creates_a_new_version_and_old_attempts_keep_theirs(root, learner):
    write(root, "max-time.md", GOOD)
    load(root)
    attempt = quiz_start(user=learner, length=1)
    old_version = attempt.items.get().version
    write(root, "max-time.md", GOOD.replace("Up to 900 seconds.", "Up to 900 s (15 min)."))
    report = load(root)
    assert report.updated == ["question max-time"]
    question = Question.objects.get(slug="max-time")
    assert question.current_version.number == 2
    assert AttemptItem.objects.get(attempt=attempt).version == old_version
    assert "900 seconds" in old_version.explanation_markdown


def test_changing_only_tags_updates_in_place(root):
    write(root, "max-time.md", GOOD)
    load(root)
    write(root, "max-time.md", GOOD.replace("[limits, timeouts]", "[limits]"))
    assert load(root).updated == ["question max-time"]
    assert QuestionVersion.objects.count() == 1
    assert list(Question.objects.get().tags.values_list("slug", flat=True)) == ["limits"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("lesson: limits", "lesson: nowhere"), "lesson"),
        (("type: single", "type: essay"), "unknown type"),
        (("correct: true", "correct: false"), "no correct choice"),
        (("difficulty: easy", "difficulty: brutal"), "difficulty"),
        (("## Explanation", "## Notes"), "Explanation"),
        (("    why: Never.\n", ""), "why"),
        (("slug: max-time", "slug: Max Time"), "slug"),
        (("tags: [limits, timeouts]", "tags: []"), "tags"),
        (("difficulty: easy", "difficulty: easy\nanswer: true"), "not allowed"),
    ],
)
def test_bad_files_are_reported_with_path_and_problem_and_the_rest_load(root, change, problem):
    write(root, "aaa-good.md", GOOD.replace("max-time", "aaa-good"))
    write(root, "max-time.md", GOOD.replace(*change))
    report = load(root)
    assert report.created == ["question aaa-good"]
    [(path, message)] = report.errors
    assert path.endswith("questions/limits/max-time.md")
    assert problem in message


NUMERIC = """\
---
slug: cost
type: numeric
lesson: limits
tags: [pricing]
difficulty: easy
numeric:
  answer: 12.5
  tolerance: 0.01
---

How much?

## Explanation

Because.
"""

CODE = """\
---
slug: echo
title: Echo the event
type: code
lesson: limits
tags: [code]
difficulty: easy
code:
  handler: app.handler
  starter: |
    def handler(event, context):
        raise NotImplementedError
  solution: |
    def handler(event, context):
        return event
  tests:
    - name: echoes
      event: {"a": 1}
      expected: {"a": 1}
---

Echo.

## Explanation

Return the event.
"""


@pytest.mark.parametrize(
    ("text", "change", "problem"),
    [
        (NUMERIC, ("  tolerance: 0.01\n", ""), "tolerance is missing"),
        (CODE, ("title: Echo the event\n", ""), "a code challenge needs a title"),
        (NUMERIC, ("type: numeric", "title: [not, text]\ntype: numeric"), "title must be text"),
        (NUMERIC, ("answer: 12.5", "answer: lots"), "must be a number"),
        (NUMERIC, ("tolerance: 0.01", "tolerance: -1"), "negative"),
        (
            CODE,
            ('  tests:\n    - name: echoes\n      event: {"a": 1}\n      expected: {"a": 1}\n', ""),
            "at least one test",
        ),
        (CODE, ("handler: app.handler", "handler: main.handler"), "app.<function>"),
        (CODE, ('      expected: {"a": 1}\n', ""), "needs event and expected"),
    ],
)
def test_type_specific_validation(root, text, change, problem):
    write(
        root,
        "x.md",
        text.replace(*change).replace("slug: cost", "slug: x").replace("slug: echo", "slug: x"),
    )
    [(_, message)] = load(root).errors
    assert problem in message


def test_a_slug_used_twice_is_reported(root):
    LessonFactory(slug="pricing")
    write(root, "max-time.md", GOOD)
    write(root, "max-time.md", GOOD.replace("lesson: limits", "lesson: pricing"), lesson="pricing")
    report = load(root)
    assert len(report.created) == 1
    [(_, message)] = report.errors
    assert "already used" in message


def test_code_tests_are_stored(root):
    write(root, "echo.md", CODE)
    assert not load(root).errors
    version = Question.objects.get(slug="echo").current_version
    assert list(version.tests.values_list("event", "expected")) == [({"a": 1}, {"a": 1})]


def test_sample_tests_are_stored_and_must_come_before_hidden_ones(root):
    sampled = CODE.replace(
        "    - name: echoes\n",
        "    - name: echoes\n      sample: true\n",
    ).replace(
        '      expected: {"a": 1}\n---',
        '      expected: {"a": 1}\n'
        '    - name: hidden\n      event: {"b": 2}\n      expected: {"b": 2}\n---',
    )
    write(root, "echo.md", sampled)
    assert not load(root).errors
    version = Question.objects.get(slug="echo").current_version
    assert list(version.tests.values_list("name", "sample")) == [
        ("echoes", True),
        ("hidden", False),
    ]
    late = sampled.replace("      sample: true\n", "").replace(
        "    - name: hidden\n", "    - name: hidden\n      sample: true\n"
    )
    write(root, "echo.md", late)
    [(_, message)] = load(root).errors
    assert "sample tests come before hidden ones" in message


SHORT = """\
---
slug: long-job
type: short
lesson: limits
tags: [limits]
difficulty: medium
key_points:
  - Invocations stop at 900 seconds.
  - Split the job into steps.
follow_ups:
  - And if one step takes 20 minutes?
  - How do you resume after a failure?
---

A job takes 40 minutes. What do you do?

## Explanation

Split it.
"""


def test_follow_ups_are_stored_in_order_with_the_rubric(root):
    write(root, "long-job.md", SHORT)
    assert not load(root).errors
    version = Question.objects.get(slug="long-job").current_version
    assert [p.text for p in version.key_points.all()] == [
        "Invocations stop at 900 seconds.",
        "Split the job into steps.",
    ]
    assert [f.text for f in version.follow_ups.all()] == [
        "And if one step takes 20 minutes?",
        "How do you resume after a failure?",
    ]


def test_adding_follow_ups_is_a_new_version_and_reloading_is_a_no_op(root):
    without = SHORT.split("follow_ups:")[0] + SHORT.split("How do you resume after a failure?\n")[1]
    write(root, "long-job.md", without)
    load(root)
    first = Question.objects.get(slug="long-job").current_version
    assert first.follow_ups.count() == 0
    write(root, "long-job.md", SHORT)
    assert load(root).updated
    second = Question.objects.get(slug="long-job").current_version
    assert second.number == first.number + 1 and second.follow_ups.count() == 2
    assert len(load(root).unchanged) == 1


@pytest.mark.parametrize(
    "follow_ups",
    [
        "follow_ups: []\n",
        "follow_ups: Just text\n",
        "follow_ups:\n  - ''\n",
        "follow_ups: [a, b, c, d, e, f]\n",
    ],
)
def test_malformed_follow_ups_are_reported(root, follow_ups):
    text = SHORT.split("follow_ups:")[0] + follow_ups + "---" + SHORT.split("---", 2)[2]
    write(root, "long-job.md", text)
    [(_, message)] = load(root).errors
    assert "follow_ups must be a list" in message


def test_follow_ups_belong_to_short_questions_only(root):
    write(
        root,
        "max-time.md",
        GOOD.replace("difficulty: easy\n", "difficulty: easy\nfollow_ups: [Why?]\n"),
    )
    [(_, message)] = load(root).errors
    assert "follow_ups" in message


LAB_CODE = CODE.replace(
    """  tests:
    - name: echoes
      event: {"a": 1}
      expected: {"a": 1}
""",
    """  lab:
    buckets: ["in-{account}"]
    trigger: {s3: {bucket: "in-{account}"}}
  tests:
    - name: an upload invokes it
      steps: [{put_object: {bucket: "in-{account}", key: a.txt}}]
      expect: [{invocations: {count: 1, status: success}}]
      wait_s: 15
""",
)


def test_a_lab_challenges_lab_and_steps_are_stored(root):
    write(root, "echo.md", LAB_CODE)
    assert not load(root).errors
    version = Question.objects.get(slug="echo").current_version
    assert version.lab == {
        "buckets": ["in-{account}"],
        "trigger": {"s3": {"bucket": "in-{account}"}},
    }
    (test,) = version.tests.all()
    assert test.event == {
        "steps": [{"put_object": {"bucket": "in-{account}", "key": "a.txt"}}],
        "wait_s": 15,
    }
    assert test.expected == {"expect": [{"invocations": {"count": 1, "status": "success"}}]}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('buckets: ["in-{account}"]', "buckets: [in]", "bucket names are global"),
        ('{s3: {bucket: "in-{account}"}}', "{url: {auth: NONE}}", "cannot use a function URL"),
        ("{invocations:", "{calls:", "no 'calls'"),
        ("wait_s: 15", 'event: {"a": 1}', "must have only"),
    ],
)
def test_a_malformed_lab_challenge_is_reported(root, old, new, message):
    write(root, "echo.md", LAB_CODE.replace(old, new))
    [(_, error)] = load(root).errors
    assert message in error
    assert not Question.objects.filter(slug="echo").exists()
