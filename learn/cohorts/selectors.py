"""Reads of the cohorts app: which cohorts an instructor sees, and a learner's sandbox quota."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Count, Max, Q, QuerySet, Sum

from learn.cohorts.models import Cohort, Membership, SandboxQuota
from learn.cohorts.statistics import ItemStats, Response, item_analysis
from learn.models import LessonProgress
from learn.practice.models import (
    Answer,
    AttemptKind,
    Question,
    QuestionType,
    QuestionVersion,
    ReviewCard,
    ReviewLog,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from learn.practice.services.reviews import cards_with_last_rating, recall, utc
from learn.study.models import StudySpan
from sandbox.engine.spec import MEMORY_MAX_MB, TIMEOUT_MAX_S


def cohort_list(*, user: User) -> QuerySet[Cohort]:
    """The cohorts user runs (every cohort for a superuser), with member counts."""
    cohorts = Cohort.objects.select_related("owner").annotate(
        member_count=Count("memberships", distinct=True)
    )
    if not user.is_superuser:
        cohorts = cohorts.filter(owner=user)
    return cohorts


def cohort_get(*, user: User, cohort_id: int) -> Cohort:
    """One cohort user may manage. Raises Cohort.DoesNotExist for anybody else's (a 404)."""
    return cohort_list(user=user).get(pk=cohort_id)


def cohort_by_code(*, code: str) -> Cohort:
    """The open cohort with this join code (case and surrounding spaces ignored)."""
    return Cohort.objects.get(join_code=code.strip().upper(), joining_open=True)


def member_list(*, cohort: Cohort) -> QuerySet[Membership]:
    return cohort.memberships.select_related("user").order_by("user__username")


def learner_cohorts(*, user: User) -> QuerySet[Cohort]:
    return Cohort.objects.filter(memberships__user=user).order_by("name")


@dataclass(frozen=True)
class Quota:
    """The sandbox limits that apply to one learner."""

    invocations_per_minute: int
    max_concurrent: int
    max_memory_mb: int
    max_timeout_s: int


def sandbox_quota(*, user: User | AbstractBaseUser | AnonymousUser | None) -> Quota:
    """The site's per-learner limits, tightened by every cohort quota the learner is under.

    A learner in two cohorts gets the lower of each limit; a quota field left blank keeps the
    site's value. Instructors' own cohorts do not limit them (only memberships count).
    """
    per_minute = settings.SANDBOX_USER_INVOCATIONS_PER_MINUTE
    concurrent = settings.SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS
    memory, timeout = MEMORY_MAX_MB, TIMEOUT_MAX_S
    if user is not None and user.pk is not None:
        rows = SandboxQuota.objects.filter(cohort__memberships__user_id=user.pk).values_list(
            "invocations_per_minute", "max_concurrent", "max_memory_mb", "max_timeout_s"
        )
        for rate, most, mem, secs in rows:
            per_minute = min(per_minute, rate) if rate else per_minute
            concurrent = min(concurrent, most) if most else concurrent
            memory = min(memory, mem) if mem else memory
            timeout = min(timeout, secs) if secs else timeout
    return Quota(
        invocations_per_minute=per_minute,
        max_concurrent=concurrent,
        max_memory_mb=memory,
        max_timeout_s=timeout,
    )


# ---------------------------------------------------------------- learners table

SORT_KEYS = (
    "username",
    "lessons_completed",
    "quiz_accuracy",
    "reviews_done",
    "challenges_solved",
    "time_studied",
    "last_active",
    "readiness",
)
ACTIVITY_FILTERS = {
    "": "Anyone",
    "7d": "Active in the last 7 days",
    "idle": "Not active for 7 days",
}


@dataclass
class LearnerRow:
    user_id: int
    username: str
    joined_at: datetime
    lessons_completed: int = 0
    quiz_answers: int = 0
    quiz_correct: int = 0
    reviews_done: int = 0
    challenges_solved: int = 0
    time_studied: int = 0  # seconds, from learn.study's spans
    last_active: datetime | None = None
    readiness: float = 0.0

    @property
    def quiz_accuracy(self) -> float | None:
        return self.quiz_correct / self.quiz_answers if self.quiz_answers else None

    @property
    def quiz_accuracy_percent(self) -> int | None:
        accuracy = self.quiz_accuracy
        return None if accuracy is None else round(100 * accuracy)

    @property
    def time_studied_minutes(self) -> int:
        return round(self.time_studied / 60)

    @property
    def readiness_percent(self) -> int:
        return round(100 * self.readiness)

    def seen(self, moment: datetime | None) -> None:
        if moment is not None and (self.last_active is None or moment > self.last_active):
            self.last_active = moment


def _by_user(queryset: QuerySet, user_field: str, **aggregates: Any) -> dict[int, dict]:
    return {
        row[user_field]: row
        for row in queryset.values(user_field).annotate(**aggregates).order_by()
    }


def learner_rows(
    *,
    cohort: Cohort,
    query: str = "",
    activity: str = "",
    sort: str = "username",
    now: datetime | None = None,
) -> list[LearnerRow]:
    """One row per member: what they did and how ready they are. A fixed number of queries.

    Quiz accuracy counts graded answers in quizzes and mock interviews; time studied is the
    learner's study-session time (learn.study); readiness is the mean
    recall probability (FSRS) over the whole current question bank, unmet questions counting 0.
    sort is one of SORT_KEYS, "-" in front for descending; activity one of ACTIVITY_FILTERS.
    """
    moment = utc(now)
    memberships = member_list(cohort=cohort)
    if query:
        memberships = memberships.filter(user__username__icontains=query)
    rows = {
        m.user_id: LearnerRow(user_id=m.user_id, username=m.user.username, joined_at=m.joined_at)
        for m in memberships
    }
    ids = list(rows)
    for user_id, agg in _by_user(
        LessonProgress.objects.filter(user_id__in=ids),
        "user_id",
        done=Count("pk", filter=Q(completed_at__isnull=False)),
        seen=Max("last_viewed_at"),
    ).items():
        rows[user_id].lessons_completed = agg["done"]
        rows[user_id].seen(agg["seen"])
    for user_id, agg in _by_user(
        Answer.objects.filter(item__attempt__user_id__in=ids),
        "item__attempt__user_id",
        graded=Count(
            "pk",
            filter=Q(
                correct__isnull=False,
                item__attempt__kind__in=[AttemptKind.QUIZ, AttemptKind.MOCK],
            ),
        ),
        right=Count(
            "pk",
            filter=Q(correct=True, item__attempt__kind__in=[AttemptKind.QUIZ, AttemptKind.MOCK]),
        ),
        seen=Max("answered_at"),
    ).items():
        rows[user_id].quiz_answers = agg["graded"]
        rows[user_id].quiz_correct = agg["right"]
        rows[user_id].seen(agg["seen"])
    for user_id, agg in _by_user(
        ReviewLog.objects.filter(card__user_id__in=ids),
        "card__user_id",
        done=Count("pk"),
        seen=Max("review_datetime"),
    ).items():
        rows[user_id].reviews_done = agg["done"]
        rows[user_id].seen(agg["seen"])
    for user_id, agg in _by_user(
        # A run of the learner's own event is no attempt at the tests: it solves nothing.
        Submission.objects.filter(user_id__in=ids, kind=SubmissionKind.TESTS),
        "user_id",
        solved=Count("version__question", filter=Q(status=SubmissionStatus.PASSED), distinct=True),
        seen=Max("created_at"),
    ).items():
        rows[user_id].challenges_solved = agg["solved"]
        rows[user_id].seen(agg["seen"])
    for user_id, agg in _by_user(
        StudySpan.objects.filter(user_id__in=ids),
        "user_id",
        total=Sum("seconds"),
        seen=Max("ended_at"),
    ).items():
        rows[user_id].time_studied = agg["total"] or 0
        rows[user_id].seen(agg["seen"])
    bank = Question.objects.filter(current_version__isnull=False).count()
    if bank:
        sums: dict[int, float] = defaultdict(float)
        for card in cards_with_last_rating(
            ReviewCard.objects.filter(user_id__in=ids, question__current_version__isnull=False)
        ):
            sums[card.user_id] += recall(card=card, at=moment)
        for user_id, total in sums.items():
            rows[user_id].readiness = total / bank
    result = list(rows.values())
    if activity == "7d":
        result = [r for r in result if r.last_active and r.last_active >= moment - ACTIVE_WINDOW]
    elif activity == "idle":
        result = [
            r for r in result if r.last_active is None or r.last_active < moment - ACTIVE_WINDOW
        ]
    return _sorted(result, sort)


ACTIVE_WINDOW = timedelta(days=7)


def _sorted(rows: list[LearnerRow], sort: str) -> list[LearnerRow]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        key, descending = "username", False
    rows.sort(key=lambda r: r.username)
    if key == "username":
        return sorted(rows, key=lambda r: r.username.lower(), reverse=descending)
    # Rows without a value (no quiz answered, never active) go last in either direction.
    present = [r for r in rows if getattr(r, key) is not None]
    absent = [r for r in rows if getattr(r, key) is None]
    return sorted(present, key=lambda r: getattr(r, key), reverse=descending) + absent


def learner_get(*, cohort: Cohort, user_id: int) -> User:
    """A member of the cohort. Raises User.DoesNotExist for anybody else."""
    return User.objects.get(pk=user_id, cohort_memberships__cohort=cohort)


def learner_submissions(*, user: User, limit: int = 50) -> list[Submission]:
    return list(
        Submission.objects.filter(user=user, kind=SubmissionKind.TESTS)
        .select_related("version__question")
        .prefetch_related("results")
        .order_by("-created_at")[:limit]
    )


def learner_lessons(*, user: User) -> list[LessonProgress]:
    return list(
        LessonProgress.objects.filter(user=user)
        .select_related("lesson__module")
        .order_by("lesson__module__order", "lesson__order")
    )


# ---------------------------------------------------------------- question statistics


@dataclass
class QuestionStatsRow:
    question: Question
    overall: ItemStats
    versions: list[tuple[QuestionVersion, ItemStats]]
    options: list[tuple[str, int]]  # the current version's options with how often chosen


def _responses(*, user_ids: list[int]) -> list[Response]:
    """Every scored answer of these learners in quizzes and mock interviews."""
    answers = (
        Answer.objects.filter(
            item__attempt__user_id__in=user_ids,
            item__attempt__kind__in=[AttemptKind.QUIZ, AttemptKind.MOCK],
            score__isnull=False,
        )
        .select_related("item__attempt", "item__version")
        .prefetch_related("selected_choices")
        .order_by("item__attempt_id", "item__position")
    )
    responses = []
    previous: dict[int, datetime] = {}
    for answer in answers:
        attempt = answer.item.attempt
        # Time on a question: since the previous answer of the attempt (or its start).
        since = previous.get(attempt.pk, attempt.started_at)
        previous[attempt.pk] = answer.answered_at
        seconds = (answer.answered_at - since).total_seconds()
        if answer.bool_value is not None:
            chosen: tuple[str, ...] = ("True" if answer.bool_value else "False",)
        else:
            chosen = tuple(str(c.pk) for c in answer.selected_choices.all())
        responses.append(
            Response(
                learner_id=attempt.user_id,
                question_id=answer.item.version.question_id,
                version_id=answer.item.version_id,
                score=float(answer.score or 0.0),
                chosen=chosen,
                seconds=seconds if seconds >= 0 else None,
            )
        )
    return responses


def question_statistics(*, cohort: Cohort) -> list[QuestionStatsRow]:
    """Item analysis of the questions the cohort's members answered, dubious ones first."""
    user_ids = list(cohort.memberships.values_list("user_id", flat=True))
    stats = item_analysis(_responses(user_ids=user_ids))
    question_ids = {s.question_id for s in stats}
    questions = Question.objects.in_bulk(question_ids)
    versions = QuestionVersion.objects.prefetch_related("choices").in_bulk(
        {s.version_id for s in stats if s.version_id is not None}
    )
    rows: dict[int, QuestionStatsRow] = {}
    for item in stats:
        if item.version_id is None:
            rows[item.question_id] = QuestionStatsRow(
                question=questions[item.question_id], overall=item, versions=[], options=[]
            )
        else:
            rows[item.question_id].versions.append((versions[item.version_id], item))
    for row in rows.values():
        for version, item in row.versions:
            row.options.extend(_option_counts(version, item))
    return sorted(rows.values(), key=lambda r: (not r.overall.dubious, r.question.slug))


def _option_counts(version: QuestionVersion, item: ItemStats) -> list[tuple[str, int]]:
    label = f"v{version.number}: "
    if version.question.type == QuestionType.TRUE_FALSE:
        return [(label + value, item.options.get(value, 0)) for value in ("True", "False")]
    return [
        (label + ("✓ " if c.correct else "") + c.text, item.options.get(str(c.pk), 0))
        for c in version.choices.all()
    ]
