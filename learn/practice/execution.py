"""What the sandbox worker runs for the practice app: grading code challenge submissions.

The learner's handler runs through sandbox.execution, the one way into the engine; the web
side (learn.practice.services.challenges) only saves submissions and queues them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from learn.practice.models import (
    Answer,
    ChallengeRuntime,
    CodeTest,
    QuestionVersion,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    TestResult,
)
from learn.practice.selectors import CHALLENGE_TIMEOUT_S, challenge_limits
from learn.practice.services.grading import (
    known_keys,
    output_differences,
    output_matches,
    score_of,
    suggested_rating,
)
from learn.practice.services.reviews import card_ensure, card_review, schedules_on_answer, utc
from sandbox import execution, labs
from sandbox import services as sandbox_services
from sandbox.models import Function
from sandbox.routing import task_named

logger = logging.getLogger(__name__)


def _budget_problem(
    *, version: QuestionVersion, result: execution.InvocationResult, warm_test: bool
) -> str:
    problems = []
    billed_budget = version.budget_billed_duration_ms
    if billed_budget is not None and warm_test and result.billed_duration_ms > billed_budget:
        problems.append(
            f"billed {result.billed_duration_ms} ms on a warm invocation; the budget is "
            f"{billed_budget} ms"
        )
    memory_budget = version.budget_max_memory_mb
    if memory_budget is not None and result.max_memory_used_mb > memory_budget:
        problems.append(
            f"used {result.max_memory_used_mb} MB of memory; the budget is {memory_budget} MB"
        )
    return "; ".join(problems)


def _describe_failure(
    result: execution.InvocationResult,
    timeout_s: int,
    *,
    test: CodeTest | None,
    reveal: bool = False,
    known: set[str] | frozenset[str] = frozenset(),
) -> str:
    if result.status == "success" and test is not None:
        differences = output_differences(expected=test.expected, payload=result.payload)
        if not differences:
            return "the output is not what the test expects"
        # A hidden test names the property that failed (only by keys the learner can read in
        # the task), never its values or the event.
        return "; ".join(d.describe(reveal=reveal, known=known) for d in differences[:3])
    if result.status == "timeout":
        return f"timed out after {timeout_s} s"
    if result.error:
        return f"the handler failed with {result.error.get('errorType', 'Error')}"
    return result.status


def submission_grade(*, submission_id: int, now: datetime | None = None) -> Submission:
    """Run a submission's hidden tests, in order, in one warm environment, and store the results.

    Idempotent: a finished submission is returned as is, and a run interrupted half-way starts
    over. Never runs code outside the jail: when the sandbox cannot run it (see
    sandbox.execution.invoke) the submission is marked "could not run" with the reason.
    """
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update()
            .select_related("version__question")
            .get(pk=submission_id)
        )
        if submission.is_done:
            return submission
        submission.status = SubmissionStatus.RUNNING
        submission.save(update_fields=["status", "updated_at"])
        submission.results.all().delete()

    version = submission.version
    slug = version.question.slug
    tests = list(version.tests.order_by("order"))
    if submission.runtime == ChallengeRuntime.NODEJS24:
        # The Lambda console's Node.js layout; the question's handler names a Python module.
        handler, code = "index.handler", {"index.mjs": submission.code}
    else:
        handler, code = version.handler or "app.handler", {"app.py": submission.code}
    memory_mb, timeout_s = challenge_limits(user_id=submission.user_id)
    config = {
        "name": f"challenge-{slug}"[:64],
        "handler": handler,
        "code": code,
        "runtime": submission.runtime,
        "memory_mb": memory_mb,
        "timeout_s": timeout_s,
        "namespace": f"user-{submission.user_id}/challenge-{slug}",
        # Part of the version key: each submission starts in fresh environments, so state a
        # previous run left in a warm environment cannot make its tests pass (or fail).
        "environment": {"LAMBDALAB_SUBMISSION": str(submission.pk)},
    }
    if submission.kind == SubmissionKind.EVENT:
        return _event_run(submission, config, timeout_s, now)
    if version.lab is not None:
        return lab_grade_begin(
            submission=submission, memory_mb=memory_mb, timeout_s=timeout_s, now=now
        )
    outcomes: list[bool] = []
    known = known_keys(
        text=version.prompt_markdown, samples=[t.expected for t in tests if t.sample]
    )
    hidden_seen = False
    try:
        for position, test in enumerate(tests):
            # A sample test's output and log are kept only before any hidden test has run in
            # this environment, whatever order an author gave them (the loader refuses it).
            reveal = test.sample and not hidden_seen
            hidden_seen = hidden_seen or not test.sample
            result = execution.invoke(config=config, event=test.event)
            matches = result.status == "success" and output_matches(
                expected=test.expected, payload=result.payload
            )
            budget = _budget_problem(version=version, result=result, warm_test=position > 0)
            passed = matches and not budget
            problem = (
                ""
                if passed
                else (
                    budget
                    if matches
                    else _describe_failure(result, timeout_s, test=test, reveal=reveal, known=known)
                )
            )
            # Hidden tests stay hidden: a handler can return, raise or print its event, so
            # neither its output, its error message nor its log is kept; the learner sees
            # pass or fail and the problem in our words. A sample test (run before any hidden
            # one, see the loader) keeps everything, as the learner may see its event.
            TestResult.objects.create(
                submission=submission,
                test=test,
                order=position,
                passed=passed,
                status=result.status,
                output=result.payload if reveal else None,
                error=(result.error if reveal else _error_type(result.error))
                if result.error
                else None,
                log=result.log if reveal else "",
                billed_duration_ms=result.billed_duration_ms,
                max_memory_used_mb=result.max_memory_used_mb,
                cold_start=result.cold_start,
                within_budget=not budget,
                problem=problem,
            )
            outcomes.append(passed)
    except execution.ExecutionFailed as exc:
        return _submission_fail(
            submission, f"The sandbox could not run this submission: {exc}", now
        )
    except Exception:
        # Whatever else went wrong, the submission must not stay `running` for ever.
        logger.exception("grading submission %s failed", submission.pk)
        return _submission_fail(
            submission, "Grading this submission failed; run the tests again.", now
        )
    return _submission_finish(submission, outcomes, now)


def _submission_finish(
    submission: Submission, outcomes: list[bool], now: datetime | None
) -> Submission:
    """Store the grade of the tests' outcomes and pass it on to the answers that wait for it."""
    submission.tests_total = len(outcomes)
    submission.tests_passed = sum(outcomes)
    submission.grade = score_of(outcomes)
    submission.status = (
        SubmissionStatus.PASSED if outcomes and all(outcomes) else SubmissionStatus.FAILED
    )
    submission.finished_at = utc(now)
    submission.save()
    submission_answer_graded(submission=submission, now=now)
    return submission


def _error_type(error: dict) -> dict:
    return {"errorType": error.get("errorType", "Error")}


def _event_run(
    submission: Submission, config: dict, timeout_s: int, now: datetime | None
) -> Submission:
    """Run the learner's code once with their own event and keep everything it gave back:
    nothing is graded and no review is scheduled."""
    try:
        result = execution.invoke(config=config, event=submission.event)
    except execution.ExecutionFailed as exc:
        return _submission_fail(submission, f"The sandbox could not run this code: {exc}", now)
    TestResult.objects.create(
        submission=submission,
        test=None,
        order=0,
        passed=result.status == "success",
        status=result.status,
        output=result.payload,
        error=result.error or None,
        log=result.log,
        billed_duration_ms=result.billed_duration_ms,
        max_memory_used_mb=result.max_memory_used_mb,
        cold_start=result.cold_start,
        problem=""
        if result.status == "success"
        else _describe_failure(result, timeout_s, test=None),
    )
    submission.status = (
        SubmissionStatus.PASSED if result.status == "success" else SubmissionStatus.FAILED
    )
    submission.finished_at = utc(now)
    submission.save()
    return submission


def _submission_fail(submission: Submission, reason: str, now: datetime | None) -> Submission:
    logger.warning("submission %s could not run: %s", submission.pk, reason)
    submission.status = SubmissionStatus.ERROR
    submission.error = reason
    submission.finished_at = utc(now)
    submission.save()
    return submission


def submissions_sweep_stale(*, now: datetime | None = None) -> int:
    """Mark submissions left `running` by a worker that died "could not run"; return how many.

    A submission is stale when it has been running longer than every test could take (INIT
    and timeout each) plus SANDBOX_STALE_GRACE_SECONDS. Queued ones wait for a worker.
    """
    moment = utc(now)
    grace = settings.SANDBOX_STALE_GRACE_SECONDS
    stale = []
    running = Submission.objects.filter(status=SubmissionStatus.RUNNING)
    for pk, updated_at, tests, lab in running.values_list(
        "pk", "updated_at", "tests_total", "version__lab"
    ):
        # A lab challenge marks each test's start; one test waits at most WAIT_S_MAX.
        per_test = labs.WAIT_S_MAX + LAB_TEST_GRACE_S if lab else CHALLENGE_TIMEOUT_S + 10
        limit = (1 if lab else max(tests, 1)) * per_test + grace
        if updated_at < moment - timedelta(seconds=limit):
            stale.append(pk)
    return Submission.objects.filter(pk__in=stale, status=SubmissionStatus.RUNNING).update(
        status=SubmissionStatus.ERROR,
        error="The sandbox worker stopped while these tests were running; run them again.",
        finished_at=moment,
        updated_at=moment,
    )


def submission_answer_graded(*, submission: Submission, now: datetime | None = None) -> None:
    """Copy a graded submission's result onto the answers that wait for it, and schedule cards.

    A run from the challenge page (no answer of a session waits for it) rates the card too when
    it is new or due, so a challenge passed there is not "due now" with 0% readiness; runs
    while the learner iterates before it is due again leave the schedule alone.
    """
    if not Answer.objects.filter(submission=submission).exists():
        card = card_ensure(user=submission.user, question=submission.version.question, now=now)
        if card.last_review is None or card.due <= utc(now):
            total, passed_count = submission.tests_total, submission.tests_passed
            passed = total > 0 and passed_count == total
            rating = suggested_rating(correct=passed, score=submission.grade or 0.0)
            card_review(card=card, rating=rating, suggested=rating, now=now)
        return
    for answer in Answer.objects.filter(submission=submission, correct__isnull=True).select_related(
        "item__attempt", "item__version__question"
    ):
        answer.correct = (
            submission.tests_total > 0 and submission.tests_passed == submission.tests_total
        )
        answer.score = submission.grade or 0.0
        answer.save(update_fields=["correct", "score"])
        attempt = answer.item.attempt
        if schedules_on_answer(attempt):
            card = card_ensure(user=attempt.user, question=answer.item.version.question)
            rating = suggested_rating(correct=answer.correct, score=answer.score)
            card_review(card=card, rating=rating, suggested=rating, answer=answer)


# ------------------------------------------------------------------------------ lab challenges
# Grading a lab challenge through its real trigger.
#
# The learner's code becomes their function `challenge-<slug>`, the lab is set up with its
# resources emptied (sandbox.labs), and each test's steps are performed in their lab account: an
# upload, messages sent, an event put. The trigger invokes the function as Lambda would, and the
# test passes once its expectations hold with nothing on its way to the handler, twice in a row;
# it fails once they stay unmet with nothing on its way for LAB_QUIET_S, or when its wait runs
# out. Waiting is a chain of short tasks (tasks.lab_test_wait), so no worker thread sits idle
# while the triggered invocations need one.

POLL_S = 0.5
LAB_QUIET_S = 3  # expectations unmet with nothing on its way to the handler for this long: failed
LAB_TEST_GRACE_S = 15  # a test's steps and last poll, on top of its wait


def lab_function_name(slug: str) -> str:
    return f"challenge-{slug}"[:56]


def _deploy(submission: Submission, *, memory_mb: int, timeout_s: int) -> Function:
    """The learner's challenge function, created the first time, with the submission's code."""
    name = lab_function_name(submission.version.question.slug)
    owner = submission.user
    function = Function.objects.filter(owner=owner, name=name).first()
    if function is None:
        return sandbox_services.function_create(
            owner=owner,
            name=name,
            description=f"Graded through its trigger: {submission.version.question.title}",
            handler=submission.version.handler or "app.handler",
            files={"app.py": submission.code},
            events={},
            memory_mb=memory_mb,
            timeout_s=timeout_s,
        )
    sandbox_services.function_file_save(function=function, path="app.py", content=submission.code)
    return sandbox_services.function_update_config(
        function=function,
        handler=submission.version.handler or "app.handler",
        memory_mb=memory_mb,
        timeout_s=timeout_s,
    )


def lab_grade_begin(
    *, submission: Submission, memory_mb: int, timeout_s: int, now: datetime | None = None
) -> Submission:
    """Deploy, set the lab up empty and start the first test (the rest follows in tasks)."""
    try:
        function = _deploy(submission, memory_mb=memory_mb, timeout_s=timeout_s)
        labs.lab_apply(function=function, lab=submission.version.lab or {}, empty=True)
    except (labs.LabError, sandbox_services.LimitReached) as exc:
        return _submission_fail(submission, f"The lab could not be set up: {exc}", now)
    except ValidationError as exc:
        return _submission_fail(
            submission, f"The lab could not be set up: {' '.join(exc.messages)}", now
        )
    _test_start(submission, function, index=0)
    return submission


def _tests(submission: Submission) -> list[CodeTest]:
    return list(submission.version.tests.order_by("order"))


def _test_start(submission: Submission, function: Function, *, index: int) -> None:
    """Perform test `index`'s steps and wait for its expectations; after the last, finish."""
    tests = _tests(submission)
    while index < len(tests):
        since = timezone.now()
        Submission.objects.filter(pk=submission.pk).update(updated_at=since)
        try:
            labs.steps_run(function=function, steps=tests[index].event["steps"])
        except labs.LabError as exc:
            _record(
                submission, tests[index], index, problems=[str(exc)], function=function, since=since
            )
            index += 1
            continue
        _wait_later(submission.pk, index, since, settled_once=False)
        return
    _finish(submission)


def _wait_later(
    submission_id: int,
    index: int,
    since: datetime,
    *,
    settled_once: bool,
    quiet_since: datetime | None = None,
) -> None:
    # Sent by name: learn.practice.tasks imports this module.
    wait = task_named("learn.practice.tasks.lab_test_wait")
    quiet = quiet_since.isoformat() if quiet_since else None
    transaction.on_commit(
        lambda: wait.apply_async(
            args=[submission_id, index, since.isoformat(), settled_once, quiet], countdown=POLL_S
        )
    )


def lab_test_wait(
    *,
    submission_id: int,
    index: int,
    since: datetime,
    settled_once: bool,
    quiet_since: datetime | None = None,
) -> None:
    """One look at test `index`'s expectations, and the test recorded once they are settled:
    passed when they hold with nothing on its way to the handler at two looks in a row; failed
    when they still do not hold after LAB_QUIET_S with nothing on its way, or when its wait is
    over. Then the next test starts; otherwise it looks again shortly. Idempotent: a delivery
    after the test was recorded does nothing."""
    submission = (
        Submission.objects.select_related("version__question").filter(pk=submission_id).first()
    )
    if submission is None or submission.is_done or submission.results.filter(order=index).exists():
        return
    tests = _tests(submission)
    function = Function.objects.filter(
        owner_id=submission.user_id, name=lab_function_name(submission.version.question.slug)
    ).first()
    if function is None or index >= len(tests):
        _submission_fail(
            submission, "The challenge's function was deleted while it was graded.", None
        )
        return
    test = tests[index]
    try:
        outcome = labs.outcome(function=function, expect=test.expected["expect"], since=since)
    except labs.LabError as exc:
        _submission_fail(submission, f"The lab's services could not be asked: {exc}", None)
        return
    now = timezone.now()
    over = now >= since + timedelta(seconds=test.event.get("wait_s", labs.WAIT_S_DEFAULT))
    passed = outcome.settled and settled_once
    # Nothing more is coming and the handler did not do it: no need to sit out the wait.
    stuck = bool(outcome.problems) and not outcome.pending
    quiet_since = (quiet_since or now) if stuck else None
    gave_up = quiet_since is not None and now - quiet_since >= timedelta(seconds=LAB_QUIET_S)
    if not (passed or gave_up or over):
        _wait_later(
            submission_id, index, since, settled_once=outcome.settled, quiet_since=quiet_since
        )
        return
    problems = list(outcome.problems)
    if over and outcome.pending and not problems:
        problems.append(
            f"{outcome.pending} invocations or messages were still on their way when the wait "
            "ran out"
        )
    if _record(submission, test, index, problems=problems, function=function, since=since):
        _test_start(submission, function, index=index + 1)


def _record(
    submission: Submission,
    test: CodeTest,
    index: int,
    *,
    problems: list[str],
    function: Function,
    since: datetime,
) -> bool:
    """Store test's result; False when another delivery already did."""
    last = function.invocations.filter(created_at__gte=since).order_by("-pk").first()
    try:
        with transaction.atomic():
            TestResult.objects.create(
                submission=submission,
                test=test,
                order=index,
                passed=not problems,
                status=last.status if last is not None else "not invoked",
                # The events, output and logs are the learner's own: their function's
                # history shows them too, so nothing is held back here.
                output=last.payload if last is not None else None,
                error=last.error if last is not None else None,
                log=labs.invocation_logs(function=function, since=since),
                billed_duration_ms=last.billed_duration_ms if last is not None else None,
                max_memory_used_mb=last.max_memory_used_mb if last is not None else None,
                cold_start=bool(last and last.cold_start),
                problem="; ".join(problems[:3]),
            )
    except IntegrityError:
        return False
    return True


def _finish(submission: Submission) -> None:
    outcomes = list(submission.results.order_by("order").values_list("passed", flat=True))
    _submission_finish(submission, outcomes, None)
