"""Reads of the practice app: what pages show. No writes here."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from learn.cohorts.selectors import sandbox_quota
from learn.models import Lesson
from learn.practice.models import (
    Answer,
    Attempt,
    AttemptItem,
    AttemptKind,
    AttemptStatus,
    CodeTest,
    LearnerGoal,
    Question,
    QuestionType,
    QuestionVersion,
    Rating,
    ReviewCard,
    ReviewLog,
    Submission,
    SubmissionKind,
    Tag,
    TestResult,
)
from learn.practice.services.grading import (
    json_diff_lines,
    normalise_output,
    output_differences,
)
from learn.practice.services.reviews import cards_with_last_rating, recall, utc
from learn.services.search import question_title
from sandbox import labs

READY_THRESHOLD = 0.8

CHALLENGE_MEMORY_MB = 128
CHALLENGE_TIMEOUT_S = 3


def challenge_limits(*, user_id: int) -> tuple[int, int]:
    """(memory MB, timeout s) a learner's challenge runs get: the challenges' own, capped by
    the largest memory and longest timeout the learner's cohorts allow, as console
    invocations are. Capped rather than refused: a learner cannot change a challenge's
    settings, so a refusal would shut them out of it."""
    quota = sandbox_quota(user=User(pk=user_id))
    return min(CHALLENGE_MEMORY_MB, quota.max_memory_mb), min(
        CHALLENGE_TIMEOUT_S, quota.max_timeout_s
    )


# A quiz topic needs enough questions to be worth picking; rarer tags still count everywhere else.
QUIZ_TOPIC_MIN_QUESTIONS = 3


def topic_list(*, min_questions: int = 1) -> QuerySet[Tag]:
    """Topics that have at least min_questions questions, with how many."""
    return (
        Tag.objects.annotate(
            question_count=Count("questions", filter=Q(questions__current_version__isnull=False))
        )
        .filter(question_count__gte=min_questions)
        .order_by("slug")
    )


def quiz_topic_list() -> QuerySet[Tag]:
    """The topics offered when starting a quiz."""
    return topic_list(min_questions=QUIZ_TOPIC_MIN_QUESTIONS)


# Tags that say what kind of question it is (a calculation, an interview classic, a bit of
# history) rather than what it is about: no help in choosing what to practise.
QUESTION_KIND_TAGS = frozenset(
    {"arithmetic", "interview", "history", "design", "architecture", "use-cases", "basics"}
)
# A theme is worth offering beside the lessons when it cuts across this many of them.
THEME_MIN_LESSONS = 4


@dataclass
class LessonChoice:
    slug: str
    title: str
    question_count: int


@dataclass
class ModuleChoices:
    title: str
    lessons: list[LessonChoice]


def quiz_lesson_groups() -> list[ModuleChoices]:
    """The lessons a quiz or mock interview can draw from (those with questions other than
    code challenges), grouped by module in course order, with how many questions each has."""
    lessons = (
        Lesson.objects.filter(published=True)
        .annotate(
            question_count=Count(
                "questions",
                filter=Q(questions__current_version__isnull=False)
                & ~Q(questions__type=QuestionType.CODE),
            )
        )
        .filter(question_count__gt=0)
        .select_related("module")
        .order_by("module__order", "module__slug", "order", "slug")
    )
    groups: list[ModuleChoices] = []
    for lesson in lessons:
        if not groups or groups[-1].title != lesson.module.title:
            groups.append(ModuleChoices(title=lesson.module.title, lessons=[]))
        groups[-1].lessons.append(
            LessonChoice(
                slug=lesson.slug,
                title=lesson.title,
                question_count=lesson.question_count,
            )
        )
    return groups


def quiz_theme_list() -> list[Tag]:
    """The few topics worth offering beside the lessons: quiz topics that span at least
    THEME_MIN_LESSONS lessons and say what a question is about (see QUESTION_KIND_TAGS)."""
    spanning = (
        quiz_topic_list()
        .exclude(slug__in=QUESTION_KIND_TAGS)
        .annotate(
            lesson_count=Count(
                "questions__lesson",
                filter=Q(questions__current_version__isnull=False),
                distinct=True,
            )
        )
        .filter(lesson_count__gte=THEME_MIN_LESSONS)
    )
    return list(spanning.order_by("slug"))


def question_get(*, slug: str) -> Question | None:
    """A published question by slug, with its lesson and current version, or None."""
    return (
        Question.objects.filter(slug=slug, current_version__isnull=False)
        .select_related("lesson", "current_version")
        .first()
    )


def card_of(*, user: User, question: Question) -> ReviewCard | None:
    return ReviewCard.objects.filter(user=user, question=question).first()


def lesson_choices() -> QuerySet[Lesson]:
    return Lesson.objects.filter(questions__current_version__isnull=False).distinct()


def attempt_get(*, user: User, attempt_id: int, kind: str | None = None) -> Attempt:
    """The learner's own attempt (another learner's id is a 404 for the caller)."""
    attempts = Attempt.objects.filter(user=user)
    if kind is not None:
        attempts = attempts.filter(kind=kind)
    return attempts.select_related("lesson").get(pk=attempt_id)


def attempt_items(*, attempt: Attempt) -> list[AttemptItem]:
    """Items in order with everything a page shows about them, in a fixed number of queries."""
    return list(
        attempt.items.select_related(
            "version__question__lesson",
            "answer__submission",
            "answer__review_log",
        ).prefetch_related(
            "version__choices",
            "version__key_points",
            "version__follow_ups",
            "version__question__tags",
            "answer__selected_choices",
            "answer__key_points_met",
        )
    )


def item_current(*, attempt: Attempt, items: list[AttemptItem]) -> AttemptItem | None:
    """The item to show next: the first unanswered one (in reviews, also the first unrated)."""
    for item in items:
        answer = getattr(item, "answer", None)
        if answer is None:
            return item
        if attempt.kind == AttemptKind.REVIEW and getattr(answer, "review_log", None) is None:
            return item
    return None


def answer_of(item: AttemptItem) -> Answer | None:
    try:
        return item.answer
    except Answer.DoesNotExist:
        return None


@dataclass
class TopicScore:
    slug: str
    label: str
    answered: int = 0
    total: int = 0
    points: float = 0.0
    lessons: dict[str, str] = field(default_factory=dict)  # slug → title

    @property
    def percent(self) -> int:
        return round(100 * self.points / self.total) if self.total else 0


def attempt_lesson_scores(*, items: list[AttemptItem]) -> list[TopicScore]:
    """Score per lesson of an attempt (one row per lesson its questions come from, weakest
    first), rather than one per tag: a quiz of ten questions has a few lessons and dozens of
    tags. Each row's lessons holds its own lesson when an answer there was not right."""
    scores: dict[str, TopicScore] = {}
    for item in items:
        answer = answer_of(item)
        lesson = item.version.question.lesson
        score = scores.setdefault(lesson.slug, TopicScore(slug=lesson.slug, label=lesson.title))
        score.total += 1
        if answer is not None:
            score.answered += 1
            score.points += answer.score or 0.0
        if answer is None or not answer.correct:
            score.lessons[lesson.slug] = lesson.title
    return sorted(scores.values(), key=lambda s: (s.percent, s.label))


def attempt_score(*, items: list[AttemptItem]) -> tuple[float, int]:
    points = sum((a.score or 0.0) for i in items if (a := answer_of(i)) is not None)
    return points, len(items)


def lessons_to_revisit(*, items: list[AttemptItem]) -> list[Lesson]:
    seen: dict[int, Lesson] = {}
    for item in items:
        answer = answer_of(item)
        if answer is None or not answer.correct:
            lesson = item.version.question.lesson
            seen.setdefault(lesson.pk, lesson)
    return list(seen.values())


@dataclass
class Readiness:
    slug: str
    label: str
    cards: int
    questions: int
    now: float
    forecast: float | None  # at the interview date, if one is set

    @property
    def now_percent(self) -> int:
        return round(100 * self.now)

    @property
    def forecast_percent(self) -> int | None:
        return None if self.forecast is None else round(100 * self.forecast)

    @property
    def ready(self) -> bool:
        value = self.forecast if self.forecast is not None else self.now
        return value >= READY_THRESHOLD


def goal_of(*, user: User) -> LearnerGoal | None:
    return LearnerGoal.objects.filter(user=user).first()


def readiness_by_topic(
    *, user: User, now: datetime | None = None, target: date | None = None
) -> list[Readiness]:
    """Per topic: mean recall probability of its questions now and at the target date.

    Questions of a topic the learner has never met count as 0: readiness covers the topic,
    not only the cards already studied.
    """
    moment = utc(now)
    at_target = datetime.combine(target, time(9, 0), tzinfo=UTC) if target is not None else None
    cards = list(
        cards_with_last_rating(ReviewCard.objects.filter(user=user)).prefetch_related(
            Prefetch("question__tags", queryset=Tag.objects.only("slug"))
        )
    )
    totals: dict[str, int] = {tag.slug: tag.question_count for tag in topic_list()}  # type: ignore[attr-defined]
    sums_now: dict[str, float] = defaultdict(float)
    sums_target: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for card in cards:
        r_now = recall(card=card, at=moment)
        r_target = recall(card=card, at=at_target) if at_target else 0.0
        for tag in card.question.tags.all():
            counts[tag.slug] += 1
            sums_now[tag.slug] += r_now
            sums_target[tag.slug] += r_target
    result = []
    for slug, total in totals.items():
        if not counts.get(slug):
            continue
        result.append(
            Readiness(
                slug=slug,
                label=slug.replace("-", " "),
                cards=counts[slug],
                questions=total,
                now=sums_now[slug] / total,
                forecast=sums_target[slug] / total if at_target else None,
            )
        )
    return sorted(result, key=lambda r: (r.forecast if r.forecast is not None else r.now, r.slug))


def due_count(*, user: User, now: datetime | None = None) -> int:
    return ReviewCard.objects.filter(
        user=user, due__lte=utc(now), question__current_version__isnull=False
    ).count()


def next_due(*, user: User) -> datetime | None:
    card = ReviewCard.objects.filter(user=user).order_by("due").first()
    return card.due if card else None


def upcoming_reviews(
    *, user: User, now: datetime | None = None, days: int = 7
) -> list[tuple[date, int]]:
    """How many cards fall due on each of the next days (today included)."""
    moment = utc(now)
    end = moment + timedelta(days=days)
    counts: dict[date, int] = defaultdict(int)
    for due in ReviewCard.objects.filter(user=user, due__lt=end).values_list("due", flat=True):
        counts[max(due, moment).date()] += 1
    return sorted(counts.items())


def recent_attempts(*, user: User, limit: int = 5) -> list[Attempt]:
    """Finished quizzes and mock interviews, newest first, with score and size annotated."""
    from django.db.models import Sum

    # Pick the newest first, then add up only theirs: aggregating every attempt before the
    # LIMIT costs time in proportion to the learner's whole history.
    newest = Attempt.objects.filter(
        user=user,
        kind__in=[AttemptKind.QUIZ, AttemptKind.MOCK],
        status=AttemptStatus.FINISHED,
    ).order_by("-finished_at")[:limit]
    return list(
        Attempt.objects.filter(pk__in=newest.values("pk"))
        .annotate(points=Sum("items__answer__score"), size=Count("items", distinct=True))
        .select_related("lesson")
        .order_by("-finished_at")[:limit]
    )


@dataclass
class ProgressSummary:
    due: int
    next_due: datetime | None
    readiness: list[Readiness]
    recent: list[Attempt]
    goal: LearnerGoal | None


def progress_summary(*, user: User, now: datetime | None = None) -> ProgressSummary:
    """Everything templates/learn/practice/_progress.html shows."""
    goal = goal_of(user=user)
    return ProgressSummary(
        due=due_count(user=user, now=now),
        next_due=next_due(user=user),
        readiness=readiness_by_topic(
            user=user, now=now, target=goal.interview_date if goal else None
        ),
        recent=recent_attempts(user=user),
        goal=goal,
    )


def challenge_list(*, user: User) -> list[Question]:
    """Code challenges with the learner's best result so far."""
    from django.db.models import Max

    return list(
        Question.objects.filter(type=QuestionType.CODE, current_version__isnull=False)
        .select_related("lesson", "current_version")
        .prefetch_related("tags")
        .annotate(
            best=Max("versions__submissions__grade", filter=Q(versions__submissions__user=user)),
            tries=Count(
                "versions__submissions",
                filter=Q(
                    versions__submissions__user=user,
                    versions__submissions__kind=SubmissionKind.TESTS,
                ),
            ),
        )
        .order_by("lesson__module__order", "lesson__order", "slug")
    )


def challenge_get(*, slug: str) -> Question:
    return (
        Question.objects.filter(type=QuestionType.CODE, current_version__isnull=False)
        .select_related("current_version", "lesson")
        .prefetch_related("tags")
        .get(slug=slug)
    )


def submission_get(*, user: User, submission_id: int) -> Submission:
    return (
        Submission.objects.filter(user=user)
        .select_related("version__question")
        .prefetch_related("results__test")
        .get(pk=submission_id)
    )


def submission_history(*, user: User, question: Question, limit: int = 10) -> list[Submission]:
    """The learner's test runs of a challenge, newest first (runs of their own event aside)."""
    return list(
        Submission.objects.filter(
            user=user, version__question=question, kind=SubmissionKind.TESTS
        ).order_by("-created_at")[:limit]
    )


def last_code(*, user: User, question: Question, runtime: str) -> str | None:
    """The code of the learner's latest run of question in runtime (tests or own event)."""
    return (
        Submission.objects.filter(user=user, version__question=question, runtime=runtime)
        .order_by("-created_at", "-pk")
        .values_list("code", flat=True)
        .first()
    )


@dataclass
class TestFeedback:
    """What a learner may see of one test's result: all of it for a sample test or their own
    event (event, expected and actual output as JSON, a diff, the handler's log with its
    REPORT line); for a hidden test its name, pass or fail, and which property failed."""

    result: TestResult
    name: str
    visible: bool
    own_event: bool
    event_json: str = ""
    expected_json: str = ""
    actual_json: str = ""
    error_json: str = ""
    diff: list[tuple[str, str]] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def submission_feedback(*, submission: Submission) -> list[TestFeedback]:
    """Each result of submission as the learner may see it (see TestFeedback)."""
    feedback = []
    for result in submission.results.select_related("test").order_by("order"):
        test = result.test
        if test is None:
            feedback.append(
                TestFeedback(
                    result=result,
                    name="Your event",
                    visible=True,
                    own_event=True,
                    event_json=_pretty(submission.event),
                    actual_json=_pretty(result.output) if result.error is None else "",
                    error_json=_pretty(result.error) if result.error else "",
                )
            )
            continue
        if not test.sample or not result.log:
            # Hidden, or a sample the grader kept nothing of (it ran after a hidden test).
            feedback.append(
                TestFeedback(result=result, name=test.name, visible=False, own_event=False)
            )
            continue
        item = TestFeedback(
            result=result,
            name=test.name,
            visible=True,
            own_event=False,
            event_json=_pretty(test.event),
            expected_json=_pretty(test.expected),
            error_json=_pretty(result.error) if result.error else "",
        )
        if result.status == "success":
            actual = normalise_output(expected=test.expected, payload=result.output)
            item.actual_json = _pretty(result.output)
            if not result.passed:
                item.diff = json_diff_lines(expected=test.expected, actual=actual)
                item.differences = [
                    d.describe(reveal=True)
                    for d in output_differences(expected=test.expected, payload=result.output)
                ]
        feedback.append(item)
    return feedback


def sample_tests(*, version: QuestionVersion) -> list[CodeTest]:
    return list(version.tests.filter(sample=True).order_by("order"))


@dataclass(frozen=True)
class LabSample:
    name: str
    steps: list[str]
    expect: list[str]


@dataclass(frozen=True)
class LabBrief:
    """What a lab challenge's page says of its lab: what grading sets up in the learner's
    account, and its sample tests' steps and expectations in words."""

    setup: list[str]
    samples: list[LabSample]


def lab_brief(*, version: QuestionVersion) -> LabBrief | None:
    if version.lab is None:
        return None
    return LabBrief(
        setup=labs.lab_summary(version.lab),
        samples=[
            LabSample(
                name=test.name,
                steps=[labs.describe_step(step) for step in test.event.get("steps", [])],
                expect=[labs.describe_expectation(e) for e in test.expected.get("expect", [])],
            )
            for test in sample_tests(version=version)
        ],
    )


@dataclass
class ReviewedCard:
    title: str
    slug: str
    rating: str
    due_after: datetime


@dataclass
class ReviewSummary:
    """The end of a review session, as Anki shows it: what was reviewed, how it was graded,
    and when cards come back."""

    reviewed: list[ReviewedCard]
    grades: list[tuple[str, int]]  # every rating, Again to Easy, with how many were given
    next_due: datetime | None  # the soonest of all the learner's cards not due yet
    due_now: int
    can_undo: bool


def review_summary(*, attempt: Attempt, now: datetime | None = None) -> ReviewSummary:
    logs = list(
        ReviewLog.objects.filter(answer__item__attempt=attempt)
        .select_related("answer__item__version__question", "card")
        .order_by("review_datetime", "pk")
    )
    counts = {value: 0 for value in Rating.values}
    for log in logs:
        counts[log.rating] += 1
    latest = logs[-1] if logs else None
    can_undo = (
        latest is not None
        and not ReviewLog.objects.filter(card_id=latest.card_id)
        .filter(
            Q(review_datetime__gt=latest.review_datetime)
            | Q(review_datetime=latest.review_datetime, pk__gt=latest.pk)
        )
        .exists()
    )
    moment = utc(now)
    return ReviewSummary(
        reviewed=[
            ReviewedCard(
                title=log.answer.item.version.question.title
                or question_title(log.answer.item.version.prompt_markdown)
                or log.answer.item.version.question.slug,
                slug=log.answer.item.version.question.slug,
                rating=log.get_rating_display(),
                due_after=log.due_after,
            )
            for log in logs
            if log.answer is not None
        ],
        grades=[(Rating(value).label, counts[value]) for value in Rating.values],
        next_due=ReviewCard.objects.filter(
            user=attempt.user, due__gt=moment, question__current_version__isnull=False
        )
        .order_by("due")
        .values_list("due", flat=True)
        .first(),
        due_now=due_count(user=attempt.user, now=moment),
        can_undo=can_undo,
    )


def today() -> date:
    return timezone.now().date()
