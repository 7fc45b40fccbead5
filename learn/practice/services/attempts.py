"""Quizzes, mock interviews and review sessions: starting them, answering, finishing.

Every service takes `now` so that tests (and the deadline of a mock interview) do not depend on
the wall clock; the server's clock is the only one that counts.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from learn.models import Lesson
from learn.practice.models import (
    CLOSED_TYPES,
    Answer,
    Attempt,
    AttemptItem,
    AttemptKind,
    AttemptStatus,
    Question,
    QuestionType,
    Rating,
    ReviewCard,
    ReviewLog,
    SelfGrade,
    Tag,
)
from learn.practice.services.challenges import submission_create
from learn.practice.services.grading import (
    SELF_GRADE_SCORE,
    PracticeError,
    Response,
    grade_response,
    suggested_rating,
)
from learn.practice.services.reviews import (
    card_ensure,
    card_review,
    card_review_undo,
    schedules_on_answer,
    utc,
)

QUIZ_LENGTHS = (5, 10, 20)
MOCK_MINUTES = 20
MOCK_QUESTIONS = 8
MOCK_OPEN_QUESTIONS = 2
REVIEW_SESSION_SIZE = 20
# Requests in flight when the clock runs out still count: network latency is not the learner's.
DEADLINE_GRACE = timedelta(seconds=2)


class NotInAttempt(PracticeError):
    pass


class AttemptClosed(PracticeError):
    pass


class MockExpired(AttemptClosed):
    pass


class MockPaused(PracticeError):
    pass


def _candidates(*, exclude_code: bool = True) -> QuerySet[Question]:
    questions = Question.objects.filter(current_version__isnull=False)
    if exclude_code:
        # Code challenges need the sandbox and minutes, not seconds: they have their own page
        # and come back in reviews.
        questions = questions.exclude(type=QuestionType.CODE)
    return questions


def _pick(
    questions: Sequence[Question], *, count: int, seen: set[int], rng: random.Random
) -> list[Question]:
    """Prefer questions the learner has not met yet, otherwise at random."""
    shuffled = list(questions)
    rng.shuffle(shuffled)
    shuffled.sort(key=lambda q: q.pk in seen)
    return shuffled[:count]


def _attempt_create(
    *,
    user: User,
    kind: str,
    questions: Iterable[Question],
    now: datetime,
    lesson: Lesson | None = None,
    topics: Sequence[Tag] = (),
    time_limit_s: int | None = None,
) -> Attempt:
    with transaction.atomic():
        attempt = Attempt.objects.create(
            user=user,
            kind=kind,
            lesson=lesson,
            started_at=now,
            time_limit_s=time_limit_s,
            deadline=now + timedelta(seconds=time_limit_s) if time_limit_s else None,
        )
        if topics:
            attempt.topics.set(topics)
        AttemptItem.objects.bulk_create(
            AttemptItem(attempt=attempt, position=n, version_id=q.current_version_id or 0)
            for n, q in enumerate(questions, start=1)
        )
    return attempt


def _seen(user: User) -> set[int]:
    return set(ReviewCard.objects.filter(user=user).values_list("question_id", flat=True))


def quiz_start(
    *,
    user: User,
    length: int = 10,
    lesson: Lesson | None = None,
    lessons: Sequence[Lesson] = (),
    topics: Sequence[Tag] = (),
    now: datetime | None = None,
    seed: int | None = None,
) -> Attempt:
    """Start a quiz of up to `length` questions from some lessons (lesson and lessons) and/or
    topics (all if neither). The attempt names its lesson when there is just one.

    Raises PracticeError when nothing matches the selection.
    """
    if not 1 <= length <= 50:
        raise PracticeError("A quiz has between 1 and 50 questions.")
    chosen = {item.pk: item for item in [*([lesson] if lesson else []), *lessons]}
    lesson = next(iter(chosen.values())) if len(chosen) == 1 else None
    questions = _candidates()
    if chosen:
        questions = questions.filter(lesson__in=list(chosen))
    if topics:
        questions = questions.filter(tags__in=topics).distinct()
    picked = _pick(list(questions), count=length, seen=_seen(user), rng=random.Random(seed))
    if not picked:
        raise PracticeError("No questions match that selection yet. Pick other topics.")
    return _attempt_create(
        user=user,
        kind=AttemptKind.QUIZ,
        questions=picked,
        now=utc(now),
        lesson=lesson,
        topics=topics,
    )


def question_quiz_start(*, user: User, question: Question, now: datetime | None = None) -> Attempt:
    """A one-question quiz on `question` (what a search result opens).

    Raises PracticeError for a code challenge (it has its own page) or an unpublished question.
    """
    if question.type == QuestionType.CODE:
        raise PracticeError("Code challenges are practised on their own page.")
    if question.current_version_id is None:
        raise PracticeError("This question is not published yet.")
    return _attempt_create(
        user=user, kind=AttemptKind.QUIZ, questions=[question], now=utc(now), lesson=None
    )


def mock_start(
    *,
    user: User,
    minutes: int = MOCK_MINUTES,
    count: int = MOCK_QUESTIONS,
    lessons: Sequence[Lesson] = (),
    now: datetime | None = None,
    seed: int | None = None,
) -> Attempt:
    """Start a timed mock interview mixing question types, open interview questions first,
    from the given lessons (all when none). Raises PracticeError when none has questions."""
    if not 5 <= minutes <= 120 or not 1 <= count <= 30:
        raise PracticeError("A mock interview lasts 5 to 120 minutes with 1 to 30 questions.")
    rng = random.Random(seed)
    seen = _seen(user)
    questions = _candidates()
    if lessons:
        questions = questions.filter(lesson__in=[item.pk for item in lessons])
    candidates = list(questions)
    open_ones = [q for q in candidates if q.type == QuestionType.SHORT]
    open_ones.sort(key=lambda q: not q.interview)  # the course's eight come first
    rng.shuffle(open_ones)
    open_ones.sort(key=lambda q: not q.interview)
    picked = open_ones[: min(MOCK_OPEN_QUESTIONS, count)]
    # Round-robin over the closed types so the interview really mixes them.
    by_type: dict[str, list[Question]] = {}
    for question in _pick(
        [q for q in candidates if q.type in CLOSED_TYPES], count=len(candidates), seen=seen, rng=rng
    ):
        by_type.setdefault(question.type, []).append(question)
    while len(picked) < count and any(by_type.values()):
        for pool in by_type.values():
            if pool and len(picked) < count:
                picked.append(pool.pop(0))
    if not picked:
        if lessons:
            raise PracticeError("Those lessons have no questions yet. Pick others.")
        raise PracticeError("The question bank is empty: load the content first.")
    rng.shuffle(picked)
    return _attempt_create(
        user=user,
        kind=AttemptKind.MOCK,
        questions=picked,
        now=utc(now),
        time_limit_s=minutes * 60,
    )


def review_start(
    *, user: User, now: datetime | None = None, size: int = REVIEW_SESSION_SIZE
) -> Attempt | None:
    """Start a review session of the cards due now (oldest first); None when nothing is due."""
    moment = utc(now)
    open_session = (
        Attempt.objects.filter(user=user, kind=AttemptKind.REVIEW, status=AttemptStatus.IN_PROGRESS)
        .order_by("-started_at")
        .first()
    )
    if open_session is not None:
        return open_session
    due = list(
        ReviewCard.objects.filter(
            user=user, due__lte=moment, question__current_version__isnull=False
        )
        .select_related("question")
        .order_by("due")[:size]
    )
    if not due:
        return None
    return _attempt_create(
        user=user, kind=AttemptKind.REVIEW, questions=[c.question for c in due], now=moment
    )


# Mock interview clock ------------------------------------------------------------------------


def mock_remaining(*, attempt: Attempt, now: datetime | None = None) -> timedelta:
    """Time left; frozen while paused; never negative."""
    assert attempt.deadline is not None
    moment = attempt.paused_at or utc(now)
    return max(attempt.deadline - moment, timedelta(0))


def _expire_if_due(attempt: Attempt, now: datetime) -> None:
    """Finish a mock interview whose time is up, and say so. Answers already given are kept."""
    if attempt.kind != AttemptKind.MOCK or attempt.paused_at is not None:
        return
    assert attempt.deadline is not None
    if now > attempt.deadline + DEADLINE_GRACE:
        attempt_finish(attempt=attempt, now=attempt.deadline)
        raise MockExpired(
            "Time is up: this mock interview ended at "
            f"{attempt.deadline:%H:%M:%S} UTC. Your earlier answers are saved; "
            "this one arrived too late to count."
        )


@transaction.atomic
def mock_pause(*, attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Stop the clock. Idempotent; refused once time is up."""
    moment = utc(now)
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.kind != AttemptKind.MOCK:
        raise PracticeError("Only mock interviews have a clock.")
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise AttemptClosed("This mock interview has finished.")
    _expire_if_due(attempt, moment)
    if attempt.paused_at is None:
        attempt.paused_at = moment
        attempt.save(update_fields=["paused_at", "updated_at"])
    return attempt


@transaction.atomic
def mock_resume(*, attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Restart the clock: the deadline moves on by the time spent paused. Idempotent."""
    moment = utc(now)
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.paused_at is not None and attempt.status == AttemptStatus.IN_PROGRESS:
        assert attempt.deadline is not None
        attempt.deadline += max(moment - attempt.paused_at, timedelta(0))
        attempt.paused_at = None
        attempt.save(update_fields=["deadline", "paused_at", "updated_at"])
    return attempt


def mock_expire_check(*, attempt: Attempt, now: datetime | None = None) -> bool:
    """Finish the mock interview if its time is up; True if it is (now) finished."""
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return True
    try:
        _expire_if_due(attempt, utc(now))
    except MockExpired:
        return True
    return False


# Answers -------------------------------------------------------------------------------------


def answer_submit(
    *,
    attempt: Attempt,
    item_id: int,
    response: Response,
    now: datetime | None = None,
) -> tuple[Answer, bool]:
    """Record and grade the learner's answer to one item of their attempt.

    Returns (answer, created). Answering an item twice returns the first answer unchanged
    (created=False), so a double submit or the back button never counts twice.
    Raises NotInAttempt, AttemptClosed, MockExpired, MockPaused or MalformedAnswer (nothing is
    recorded then, and earlier answers are untouched).
    """
    moment = utc(now)
    item = (
        AttemptItem.objects.filter(attempt=attempt, pk=item_id)
        .select_related("version__question")
        .first()
    )
    if item is None:
        raise NotInAttempt(
            "That question is not part of this session, so the answer was not saved."
        )
    existing = Answer.objects.filter(item=item).first()
    if existing is not None:
        return existing, False
    attempt.refresh_from_db()
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise AttemptClosed("This session has finished; start a new one to keep practising.")
    _expire_if_due(attempt, moment)
    if attempt.paused_at is not None:
        raise MockPaused("The interview is paused: resume it to answer.")
    version = item.version
    grade = grade_response(version=version, response=response)
    # One transaction for the answer and what it schedules: a database error half-way leaves
    # neither, and the learner can simply answer again.
    with transaction.atomic():
        try:
            with transaction.atomic():
                answer = Answer.objects.create(
                    item=item,
                    answered_at=moment,
                    bool_value=response.bool_value,
                    numeric_value=grade.numeric_value,
                    text_value=response.text.strip()
                    if version.question.type == QuestionType.SHORT
                    else "",
                    correct=grade.correct,
                    score=grade.score,
                )
                if response.choice_ids:
                    answer.selected_choices.set(response.choice_ids)
        except IntegrityError:  # the same answer raced in from a second request
            return Answer.objects.get(item=item), False
        card = card_ensure(user=attempt.user, question=version.question, now=moment)
        if version.question.type == QuestionType.CODE:
            submission = submission_create(
                user=attempt.user, version=version, code=response.code, now=moment
            )
            answer.submission = submission
            answer.save(update_fields=["submission"])
        elif grade.correct is not None and schedules_on_answer(attempt):
            card_review(
                card=card,
                rating=suggested_rating(correct=grade.correct, score=grade.score),
                suggested=suggested_rating(correct=grade.correct, score=grade.score),
                now=moment,
                answer=answer,
            )
    return answer, True


def rubric_grade(*, met: int, total: int) -> SelfGrade:
    """The self-grade that ticking `met` of `total` rubric points amounts to.

    Every point is Got it; at least half is Partly; fewer is Missed it.
    """
    if total <= 0:
        raise PracticeError("This question has no rubric to tick.")
    if met >= total:
        return SelfGrade.GOT_IT
    return SelfGrade.PARTLY if met * 2 >= total else SelfGrade.MISSED


def answer_rubric_grade(
    *, answer: Answer, point_ids: list[int], now: datetime | None = None
) -> Answer:
    """Record which rubric points the learner's open answer covered and grade it from them.

    The score is the share of points ticked; the grade follows `rubric_grade`. Raises
    PracticeError for a point that is not part of the question's rubric.
    """
    version = answer.item.version
    if version.question.type != QuestionType.SHORT:
        raise PracticeError("Only open answers are self-graded.")
    points = list(version.key_points.all())
    chosen = [p for p in points if p.pk in set(point_ids)]
    if len(chosen) != len(set(point_ids)):
        raise PracticeError("Tick only the points listed in this question's rubric.")
    answer.key_points_met.set(chosen)
    grade = rubric_grade(met=len(chosen), total=len(points))
    return _self_grade_apply(answer=answer, grade=grade, score=len(chosen) / len(points), now=now)


def answer_self_grade(*, answer: Answer, grade: str, now: datetime | None = None) -> Answer:
    """The learner's verdict on their open answer against the model answer.

    It can be changed (a learner may reconsider); the card is scheduled from the first one only.
    """
    if answer.item.version.question.type != QuestionType.SHORT:
        raise PracticeError("Only open answers are self-graded.")
    if grade not in SelfGrade.values:
        raise PracticeError("Grade your answer as Missed it, Partly or Got it.")
    return _self_grade_apply(
        answer=answer, grade=SelfGrade(grade), score=SELF_GRADE_SCORE[SelfGrade(grade)], now=now
    )


def _self_grade_apply(
    *, answer: Answer, grade: SelfGrade, score: float, now: datetime | None
) -> Answer:
    answer.self_grade = grade
    answer.score = score
    answer.correct = grade == SelfGrade.GOT_IT
    answer.save(update_fields=["self_grade", "score", "correct"])
    attempt = answer.item.attempt
    if schedules_on_answer(attempt):
        card = card_ensure(user=attempt.user, question=answer.item.version.question, now=now)
        rating = suggested_rating(correct=answer.correct, score=answer.score)
        card_review(card=card, rating=rating, suggested=rating, now=now, answer=answer)
    return answer


def review_rate(*, answer: Answer, rating: int, now: datetime | None = None) -> ReviewLog:
    """Rate a reviewed card (the learner may override the suggestion). Idempotent per answer."""
    attempt = answer.item.attempt
    if attempt.kind != AttemptKind.REVIEW:
        raise PracticeError("Ratings belong to review sessions.")
    question = answer.item.version.question
    if question.type == QuestionType.CODE and answer.correct is None:
        raise PracticeError("Wait for the tests to finish before rating.")
    if question.type == QuestionType.SHORT and not answer.self_grade:
        # Rating an open answer is its self-grade.
        answer.self_grade = {
            Rating.AGAIN: SelfGrade.MISSED,
            Rating.HARD: SelfGrade.PARTLY,
        }.get(Rating(rating), SelfGrade.GOT_IT)
        answer.score = SELF_GRADE_SCORE[SelfGrade(answer.self_grade)]
        answer.correct = answer.self_grade == SelfGrade.GOT_IT
        answer.save(update_fields=["self_grade", "score", "correct"])
    card = card_ensure(user=attempt.user, question=question, now=now)
    log = card_review(
        card=card,
        rating=rating,
        suggested=suggested_rating(correct=answer.correct, score=answer.score),
        now=now,
        answer=answer,
    )
    if (
        not attempt.items.filter(answer__review_log__isnull=True).exists()
        and not attempt.items.filter(answer__isnull=True).exists()
    ):
        attempt_finish(attempt=attempt, now=now)
    return log


def review_last_log(*, attempt: Attempt) -> ReviewLog | None:
    """The latest rating given in a review session, if any."""
    return (
        ReviewLog.objects.filter(answer__item__attempt=attempt)
        .select_related("answer__item")
        .order_by("-review_datetime", "-pk")
        .first()
    )


@transaction.atomic
def review_undo(*, attempt: Attempt) -> Answer:
    """Undo the latest rating of a review session, as Anki's Undo does: the card goes back to
    what it was, an open answer loses the self-grade the rating gave it, and a session that
    this rating finished is open again. Returns the answer to rate again. Raises
    PracticeError when there is nothing to undo or the card was rated again elsewhere since.
    """
    if attempt.kind != AttemptKind.REVIEW:
        raise PracticeError("Ratings belong to review sessions.")
    log = review_last_log(attempt=attempt)
    if log is None or log.answer is None:
        raise PracticeError("Nothing to undo in this session.")
    answer = log.answer
    card_review_undo(log=log)
    if answer.item.version.question.type == QuestionType.SHORT:
        # In a review an open answer's self-grade is its rating (see review_rate).
        answer.self_grade = ""
        answer.score = None
        answer.correct = None
        answer.save(update_fields=["self_grade", "score", "correct"])
    Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.IN_PROGRESS, finished_at=None)
    attempt.refresh_from_db()
    return answer


def attempt_finish(*, attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Close an attempt. Idempotent: finishing twice keeps the first finish time."""
    updated = Attempt.objects.filter(pk=attempt.pk, status=AttemptStatus.IN_PROGRESS).update(
        status=AttemptStatus.FINISHED, finished_at=utc(now), paused_at=None
    )
    attempt.refresh_from_db()
    del updated
    return attempt
