"""Lab challenges are graded through their real trigger: the learner's code is deployed as
their function, the lab's steps run in their lab account, a real worker runs what the trigger
invokes, and each test passes when its expectations hold."""

import time
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User

from learn.practice.loader import parse_question_file, question_save
from learn.practice.models import ChallengeRuntime, Question, Submission, SubmissionStatus
from learn.practice.services.challenges import event_run_create, submission_create
from learn.practice.services.grading import PracticeError
from sandbox.models import Function
from tests.labs.test_labs import LAB, RECORDER
from tests.practice.conftest import CONTENT, lesson_slugs
from tests.practice.factories import code_question

LAB_CHALLENGES = sorted(
    path
    for path in (CONTENT / "questions").rglob("*.md")
    if "\ntype: code\n" in path.read_text() and "\n  lab:\n" in path.read_text()
)
STARTER = "def handler(event, context):\n    return None\n"


def graded(submission: Submission, timeout_s: float = 120) -> Submission:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        submission.refresh_from_db()
        if submission.is_done:
            return submission
        time.sleep(0.3)
    raise AssertionError(f"submission {submission.pk} not graded within {timeout_s} s")


@pytest.fixture
def sizes_challenge(db):
    version = code_question(starter_code=STARTER, solution_code=RECORDER, lab=LAB)
    tests = version.tests.order_by("order")
    first, second = tests
    first.name, first.sample = "a .txt upload is recorded", True
    first.event = {
        "steps": [{"put_object": {"bucket": "uploads-{account}", "key": "a.txt", "body": "abc"}}],
        "wait_s": 20,
    }
    first.expected = {
        "expect": [{"item": {"table": "sizes", "key": {"key": "a.txt"}, "attributes": {"size": 3}}}]
    }
    second.name = "two uploads, two items; a .csv is not a .txt"
    second.event = {
        "steps": [
            {"put_object": {"bucket": "uploads-{account}", "key": "b/c d.txt", "body": "hello"}},
            {"put_object": {"bucket": "uploads-{account}", "key": "e.csv", "body": "x"}},
        ],
        "wait_s": 20,
    }
    second.expected = {
        "expect": [
            {"items": {"table": "sizes", "count": 2}},
            {"item": {"table": "sizes", "key": {"key": "b/c d.txt"}, "attributes": {"size": 5}}},
            {"invocations": {"count": 1, "status": "success"}},
        ]
    }
    for test in tests:
        test.save()
    return version


def test_a_lab_challenge_is_graded_through_its_trigger(
    celery_worker_process, learner, moto_server, sizes_challenge
) -> None:
    solved = graded(submission_create(user=learner, version=sizes_challenge, code=RECORDER))
    results = list(solved.results.order_by("order"))
    assert solved.status == SubmissionStatus.PASSED, [(r.problem, r.log) for r in results]
    assert [r.passed for r in results] == [True, True]
    assert "START RequestId" in results[0].log  # the learner sees their handler's own log
    function = Function.objects.get(
        owner=learner, name=f"challenge-{sizes_challenge.question.slug}"
    )
    assert function.invocations.filter(trigger__isnull=False).count() == 2

    # The lab starts empty for every run: the starter's failure is its own.
    started = graded(submission_create(user=learner, version=sizes_challenge, code=STARTER))
    assert started.status == SubmissionStatus.FAILED
    problems = [r.problem for r in started.results.order_by("order")]
    assert problems[0] == "no item key=a.txt in the table sizes"
    assert "the table sizes holds 0 items, expected 2" in problems[1]


def test_two_learners_graded_at_once_each_in_their_own_lab(
    celery_worker_process, learner, moto_server, sizes_challenge
) -> None:
    from sandbox.aws.accounts import account_for
    from sandbox.aws.clients import lab_client

    other = User.objects.create_user("second-lab-learner")
    mine = submission_create(user=learner, version=sizes_challenge, code=RECORDER)
    theirs = submission_create(user=other, version=sizes_challenge, code=STARTER)
    assert graded(mine).status == SubmissionStatus.PASSED
    assert graded(theirs).status == SubmissionStatus.FAILED  # A's items never count for B
    keys = {
        user.username: {
            item["key"]["S"]
            for item in lab_client("dynamodb", account_id=account_for(user)).scan(
                TableName="sizes"
            )["Items"]
        }
        for user in (learner, other)
    }
    assert keys == {learner.username: {"a.txt", "b/c d.txt"}, other.username: set()}


def test_a_lab_challenge_runs_one_grading_at_a_time_and_in_python(
    learner, moto_server, sizes_challenge
) -> None:
    submission_create(user=learner, version=sizes_challenge, code=RECORDER)
    with pytest.raises(PracticeError, match="still going through its trigger"):
        submission_create(user=learner, version=sizes_challenge, code=RECORDER)
    Submission.objects.update(status=SubmissionStatus.PASSED)
    with pytest.raises(PracticeError, match="answer it in Python"):
        submission_create(
            user=learner,
            version=sizes_challenge,
            code="export const handler = 1;",
            runtime=ChallengeRuntime.NODEJS24,
        )


def test_at_least_four_lab_challenges_ship() -> None:
    assert len(LAB_CHALLENGES) >= 4
    triggers = {
        next(iter(yaml.safe_load(p.read_text().split("---", 2)[1])["code"]["lab"]["trigger"]))
        for p in LAB_CHALLENGES
    }
    assert len(triggers) >= 4, triggers


@pytest.mark.content
@pytest.mark.parametrize("path", LAB_CHALLENGES, ids=lambda p: p.stem)
def test_shipped_lab_challenge_solution_passes_and_starter_fails(
    path: Path, celery_worker_process, lessons, learner, moto_server
) -> None:
    parsed = parse_question_file(path, lesson_slugs=set(lesson_slugs()))
    question_save(parsed=parsed)
    version = Question.objects.get(slug=parsed.slug).current_version
    # Two learners at once, each in their own lab account: the grading of one cannot help or
    # hurt the other's.
    other = User.objects.create_user("starter-learner")
    solving = submission_create(user=learner, version=version, code=version.solution_code)
    starting = submission_create(user=other, version=version, code=version.starter_code)
    solved, started = graded(solving), graded(starting)
    assert solved.status == SubmissionStatus.PASSED, [
        (r.test.name, r.problem, r.log[-2000:]) for r in solved.results.order_by("order")
    ]
    assert started.status == SubmissionStatus.FAILED


def test_a_lab_challenges_page_says_what_grading_sets_up(client, learner, sizes_challenge) -> None:
    client.force_login(learner)
    slug = sizes_challenge.question.slug
    html = client.get(f"/quiz/challenges/{slug}/").content.decode()
    assert "Graded through a real trigger" in html
    assert f"challenge-{slug}" in html
    assert "Trigger: S3 notifications of uploads-{account}" in html
    assert "upload a.txt to uploads-{account}" in html  # the sample's step, in words
    assert "the table sizes holds the item key=a.txt with size = 3" in html
    assert "Run with your own event" not in html  # it would bypass the trigger
    assert "?runtime=nodejs24.x" not in html
    with pytest.raises(PracticeError, match="runs through its trigger"):
        event_run_create(user=learner, version=sizes_challenge, code=RECORDER, event_text="{}")
