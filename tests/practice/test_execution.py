"""Grading code challenges through the real sandbox engine (learn/practice/execution.py)."""

from pathlib import Path

import pytest

from learn.practice.execution import submission_grade
from learn.practice.loader import parse_question_file, question_save
from learn.practice.models import Question, Submission, SubmissionStatus
from tests.practice.conftest import CONTENT, lesson_slugs
from tests.practice.factories import ECHO_SOLUTION, code_question

CHALLENGE_FILES = sorted(
    path for path in (CONTENT / "questions").rglob("*.md") if "\ntype: code\n" in path.read_text()
)
# Lab challenges run through their trigger and a worker: tests/labs/test_challenges.py.
ENGINE_CHALLENGES = [path for path in CHALLENGE_FILES if "\n  lab:\n" not in path.read_text()]


@pytest.fixture
def pool():
    from sandbox.engine import JailUnavailable
    from sandbox.pool import get_pool, shutdown_pool

    try:
        yield get_pool()
    except JailUnavailable as exc:
        pytest.fail(f"the sandbox jail does not work here: {exc}")
    finally:
        shutdown_pool()


def load_challenge(path: Path) -> Question:
    parsed = parse_question_file(path, lesson_slugs=set(lesson_slugs()))
    question_save(parsed=parsed)
    return Question.objects.get(slug=parsed.slug)


def grade(learner, version, code) -> Submission:
    submission = Submission.objects.create(
        user=learner, version=version, code=code, tests_total=version.tests.count()
    )
    return submission_grade(submission_id=submission.pk)


def test_at_least_twenty_two_challenges_ship():
    assert len(CHALLENGE_FILES) >= 22


@pytest.mark.content
@pytest.mark.parametrize("path", ENGINE_CHALLENGES, ids=lambda p: p.stem)
def test_shipped_solution_passes_and_starter_fails(path, lessons, learner, pool):
    version = load_challenge(path).current_version
    solved = grade(learner, version, version.solution_code)
    assert solved.status == SubmissionStatus.PASSED, [
        (r.test.name, r.problem, r.output, r.error) for r in solved.results.all()
    ]
    assert solved.grade == 1.0
    started = grade(learner, version, version.starter_code)
    assert started.status == SubmissionStatus.FAILED
    assert started.tests_passed < started.tests_total


def test_results_keep_output_and_costs_but_a_wrong_answer_fails(learner, pool, db):
    version = code_question()
    submission = grade(learner, version, "def handler(event, context):\n    return {'echo': 1}\n")
    first, second = submission.results.all()
    assert first.passed and not second.passed
    # Hidden: the property that failed, by no name the task does not give (here none).
    assert second.output is None
    assert second.problem == "a property of the output should be a string, not a number"
    assert first.billed_duration_ms >= 1 and second.max_memory_used_mb > 0
    assert submission.grade == 0.5 and submission.status == SubmissionStatus.FAILED


def test_errors_and_budgets_are_reported(learner, pool, db):
    version = code_question(budget_billed_duration_ms=50)
    crashed = grade(learner, version, "def handler(event, context):\n    raise ValueError('no')\n")
    assert all(r.error and r.error["errorType"] == "ValueError" for r in crashed.results.all())
    slow = "import time\n" + ECHO_SOLUTION.replace("    return", "    time.sleep(0.2)\n    return")
    over = grade(learner, version, slow)
    first, second = over.results.all()
    assert first.passed  # the budget applies to warm invocations only
    assert not second.passed and not second.within_budget and "budget" in second.problem


def test_grading_twice_is_harmless(learner, pool, db):
    version = code_question()
    submission = grade(learner, version, ECHO_SOLUTION)
    again = submission_grade(submission_id=submission.pk)
    assert again.status == SubmissionStatus.PASSED and again.results.count() == 2


NODE_ECHO = "export const handler = async (event) => ({ echo: event.x });\n"


def test_a_challenge_can_be_answered_in_node(learner, pool, db):
    # The same hidden tests, run by the nodejs24.x runtime from index.mjs.
    version = code_question()
    submission = Submission.objects.create(
        user=learner, version=version, code=NODE_ECHO, runtime="nodejs24.x", tests_total=2
    )
    graded = submission_grade(submission_id=submission.pk)
    assert graded.status == SubmissionStatus.PASSED, [
        (r.problem, r.error, r.log) for r in graded.results.all()
    ]
    wrong = Submission.objects.create(
        user=learner,
        version=version,
        code='export const handler = async () => { throw new TypeError("nope"); };\n',
        runtime="nodejs24.x",
        tests_total=2,
    )
    failed = submission_grade(submission_id=wrong.pk)
    assert failed.status == SubmissionStatus.FAILED
    # The error type only: a hidden test's message could carry its input.
    assert all(r.problem == "the handler failed with TypeError" for r in failed.results.all())


def test_a_challenge_passed_on_its_page_is_scheduled_not_due_and_counts(learner, pool, db):
    from django.test import Client
    from django.utils import timezone

    from learn.practice.models import ReviewCard

    version = code_question()
    submission = grade(learner, version, ECHO_SOLUTION)
    assert submission.status == SubmissionStatus.PASSED
    card = ReviewCard.objects.get(user=learner, question=version.question)
    assert card.last_review is not None and card.due > timezone.now()
    client = Client()
    client.force_login(learner)
    home = client.get("/quiz/review/").content.decode()
    assert 'data-testid="due-count"' not in home  # nothing due
    # Another run before it is due again leaves the schedule alone.
    due = card.due
    grade(learner, version, "def handler(event, context):\n    return None\n")
    card.refresh_from_db()
    assert card.due == due


def test_hidden_test_events_never_reach_the_learner(learner, pool, db, client):
    version = code_question()
    leaky = (
        "def handler(event, context):\n"
        "    print('EVENT', event)\n"
        "    if event['x'] == 1:\n"
        "        return event\n"
        "    raise ValueError(repr(event))\n"
    )
    submission = grade(learner, version, leaky)
    first, second = submission.results.all()
    assert not first.passed and not second.passed
    for result in (first, second):
        stored = f"{result.output} {result.error} {result.log} {result.problem}"
        assert "'x'" not in stored and "EVENT" not in stored, stored
    assert second.problem == "the handler failed with ValueError"


def test_a_submission_whose_worker_died_is_swept_and_a_fresh_one_is_not(learner, db):
    from datetime import timedelta

    from django.utils import timezone

    from learn.practice.execution import submissions_sweep_stale

    version = code_question()
    stale = Submission.objects.create(
        user=learner, version=version, code="x", tests_total=2, status=SubmissionStatus.RUNNING
    )
    fresh = Submission.objects.create(
        user=learner, version=version, code="x", tests_total=2, status=SubmissionStatus.RUNNING
    )
    Submission.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    assert submissions_sweep_stale() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == SubmissionStatus.ERROR and "worker stopped" in stale.error
    assert fresh.status == SubmissionStatus.RUNNING


def test_any_grading_fault_ends_the_submission_instead_of_leaving_it_running(
    learner, db, monkeypatch
):
    from sandbox import execution

    def broken(**kwargs):
        raise KeyError("payload")

    monkeypatch.setattr(execution, "invoke", broken)
    submission = grade(learner, code_question(), ECHO_SOLUTION)
    assert submission.status == SubmissionStatus.ERROR and "run the tests again" in submission.error


def test_a_sample_test_keeps_output_and_log_and_a_hidden_one_names_the_property(learner, pool, db):
    version = code_question(sample_first=True)
    code = "def handler(event, context):\n    print('got', event)\n    return {'echo': 2}\n"
    submission = grade(learner, version, code)
    sample, hidden = submission.results.all()
    assert sample.output == {"echo": 2} and "got {'x': 1}" in sample.log
    assert "REPORT RequestId:" in sample.log
    assert sample.problem == "`echo` is 2, expected 1"
    # The hidden test: which property, but neither its value, its output nor its log.
    assert hidden.output is None and hidden.log == ""
    # "echo" is a key of the sample's expected output, so the learner may read it.
    assert hidden.problem == "`echo` should be a string, not a number"


def test_a_sample_after_a_hidden_test_shows_nothing_the_handler_kept(learner, pool, db):
    from learn.practice.models import CodeTest

    version = code_question()
    CodeTest.objects.create(
        version=version,
        order=2,
        name="late sample",
        event={"x": 3},
        expected={"echo": 3},
        sample=True,
    )
    leaky = (
        "SEEN = []\n"
        "def handler(event, context):\n"
        "    SEEN.append(event)\n"
        "    print('SEEN', SEEN)\n"
        "    return {'echo': SEEN}\n"
    )
    results = list(grade(learner, version, leaky).results.all())
    late = results[2]
    assert late.output is None and late.log == "" and "'b'" not in late.problem


def test_an_own_event_run_keeps_everything_grades_nothing_and_schedules_nothing(
    learner, pool, db, django_capture_on_commit_callbacks
):
    from learn.practice.models import ReviewCard, SubmissionKind
    from learn.practice.services.challenges import event_run_create

    version = code_question()
    with django_capture_on_commit_callbacks(execute=False):
        run = event_run_create(
            user=learner,
            version=version,
            code="def handler(event, context):\n    print('hi')\n    return event['n'] * 2\n",
            event_text='{"n": 21}',
        )
    assert run.kind == SubmissionKind.EVENT and run.event == {"n": 21}
    done = submission_grade(submission_id=run.pk)
    (result,) = done.results.all()
    assert result.test is None and result.output == 42 and "hi" in result.log
    assert done.status == SubmissionStatus.PASSED and done.grade is None
    assert not ReviewCard.objects.filter(user=learner).exists()


def test_challenges_run_under_the_cohort_quota_like_console_invocations(learner, pool, db):
    from learn.cohorts.models import SandboxQuota
    from tests.cohorts.factories import CohortFactory, member

    version = code_question()
    slow = "import time\n" + ECHO_SOLUTION.replace("    return", "    time.sleep(1.5)\n    return")
    assert grade(learner, version, slow).status == SubmissionStatus.PASSED  # within 3 s

    cohort = CohortFactory()
    member(cohort, learner)
    SandboxQuota.objects.create(cohort=cohort, max_timeout_s=1, max_memory_mb=128)
    capped = grade(learner, version, slow)
    assert capped.status == SubmissionStatus.FAILED
    assert {r.status for r in capped.results.all()} == {"timeout"}
    assert all(r.problem == "timed out after 1 s" for r in capped.results.all())
