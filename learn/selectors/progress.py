"""The /progress/ dashboard: per module and topic, charts, streak, weakest topics.

Every figure comes from grouped queries whose number does not depend on the learner's history,
and the charts and the streak from the learner's day totals (study.DayTotal, a row per local
day kept up to date as they study), so the page costs the same few queries for ten answers or
ten thousand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.safestring import SafeString

from learn import charts
from learn.practice.models import Answer, Question, ReviewCard
from learn.practice.selectors import QUIZ_TOPIC_MIN_QUESTIONS, READY_THRESHOLD, ProgressSummary
from learn.practice.services.reviews import retrievability
from learn.selectors.lessons import ModuleProgress
from learn.study import selectors as study
from learn.study.models import StudyProfile

ACCURACY_WEEKS = 26
TIME_WEEKS = 12
DUE_DAYS = 14
WEAKEST = 3


@dataclass
class Score:
    """Answers graded and points scored, and the mean recall probability of the questions."""

    answered: int = 0
    points: float = 0.0
    questions: int = 0
    recall_sum: float = 0.0

    @property
    def accuracy(self) -> int | None:
        return round(100 * self.points / self.answered) if self.answered else None

    @property
    def mastery(self) -> int:
        return round(100 * self.recall_sum / self.questions) if self.questions else 0


@dataclass
class TopicRow:
    slug: str
    label: str
    score: Score
    practisable: bool

    @property
    def weakness(self) -> float:
        accuracy = self.score.accuracy if self.score.accuracy is not None else 100
        return (self.score.mastery + accuracy) / 2


@dataclass
class Dashboard:
    zone: ZoneInfo
    goal: study.GoalStatus
    modules: dict[int, Score]
    topics: list[TopicRow]
    weakest: list[TopicRow]
    readiness: int | None
    days_left: int | None
    ready: bool
    heatmap: SafeString
    accuracy_chart: SafeString
    due_chart: SafeString
    time_chart: SafeString
    due_next: list[tuple[date, int]]


def _scores_by_question(*, user: User) -> dict[int, tuple[int, float]]:
    """Graded answers and points per question: modules and topics add these up in Python, so
    the database groups by one short key instead of joining questions and tags per answer."""
    rows = (
        Answer.objects.filter(item__attempt__user=user, score__isnull=False)
        .values("item__version__question_id")
        .annotate(n=Count("id"), points=Sum("score"))
        .order_by()
    )
    return {r["item__version__question_id"]: (r["n"], r["points"] or 0.0) for r in rows}


def _accuracy_by_week(
    totals: dict[date, study.Day], first_week: date
) -> dict[date, tuple[int, int]]:
    weeks: dict[date, tuple[int, int]] = {}
    for day, total in totals.items():
        week = day - timedelta(days=day.weekday())
        if week < first_week or not total.answers:
            continue
        answered, right = weeks.get(week, (0, 0))
        weeks[week] = (answered + total.answers, right + total.correct)
    return weeks


def dashboard(
    *,
    user: User,
    profile: StudyProfile | None,
    modules: list[ModuleProgress],
    summary: ProgressSummary,
    now: datetime | None = None,
) -> Dashboard:
    """Everything the progress page adds to lessons and readiness, in a fixed number of queries:
    answers per question (1), questions, tags and cards (3), the day totals that give days
    studied and reviewed and accuracy by week (1), reviews due (1)."""
    moment = now or timezone.now()
    zone = study.zone_of(profile)
    today = moment.astimezone(zone).date()

    # Mastery: the mean recall probability (FSRS retrievability) over every question of a
    # module or topic, unmet questions counting 0, like the readiness table.
    questions = list(
        Question.objects.filter(current_version__isnull=False).values_list("id", "lesson_id")
    )
    tag_rows = list(
        Question.tags.through.objects.filter(question__current_version__isnull=False).values_list(
            "question_id", "tag__slug"
        )
    )
    cards = list(ReviewCard.objects.filter(user=user).only(*_CARD_FIELDS))
    recall = {card.question_id: retrievability(card=card, at=moment) for card in cards}

    answered = _scores_by_question(user=user)

    def add(score: Score, question_id: int) -> None:
        n, points = answered.get(question_id, (0, 0.0))
        score.answered += n
        score.points += points
        score.questions += 1
        score.recall_sum += recall.get(question_id, 0.0)

    # Answers to questions no longer published do not count: neither does their mastery.
    lesson_module = {lesson.pk: m.module.pk for m in modules for lesson in m.lessons}
    by_module: dict[int, Score] = defaultdict(Score)
    for question_id, lesson_id in questions:
        if lesson_id in lesson_module:
            add(by_module[lesson_module[lesson_id]], question_id)
    by_topic: dict[str, Score] = defaultdict(Score)
    for question_id, slug in tag_rows:
        add(by_topic[slug], question_id)
    topics = sorted(
        (
            TopicRow(
                slug=slug,
                label=slug.replace("-", " "),
                score=score,
                practisable=score.questions >= QUIZ_TOPIC_MIN_QUESTIONS,
            )
            for slug, score in by_topic.items()
            if score.questions
        ),
        key=lambda t: t.slug,
    )
    met = [t for t in topics if t.score.answered or t.score.recall_sum]
    weakest = sorted((t for t in met if t.practisable), key=lambda t: (t.weakness, t.slug))[
        :WEAKEST
    ]

    # Readiness toward the interview date: the topics' forecast recall, weighted by size.
    readiness = days_left = None
    interview = summary.goal.interview_date if summary.goal else None
    if interview is not None:
        days_left = (interview - today).days
        forecast = sum((r.forecast or 0.0) * r.questions for r in summary.readiness)
        total = sum(t.score.questions for t in topics)
        readiness = round(100 * forecast / total) if total else 0
    ready = readiness is not None and readiness >= 100 * READY_THRESHOLD

    # Local days come from study.DayTotal, kept up to date as the learner answers, reviews and
    # studies (in their zone), rather than grouping the whole history by local day here.
    totals = study.day_totals(user=user)
    seconds = {day: t.seconds for day, t in totals.items() if t.seconds}
    reviews = {day: t.reviews for day, t in totals.items() if t.reviews}
    goal = study.goal_status(profile=profile, seconds=seconds, reviews=reviews, today=today)
    activity = {
        day: charts.DayActivity(minutes=seconds.get(day, 0) // 60, reviews=reviews.get(day, 0))
        for day in set(seconds) | set(reviews)
    }
    due_next = study.reviews_due_by_day(user=user, zone=zone, days=DUE_DAYS, now=moment)
    this_week = today - timedelta(days=today.weekday())
    first_week = this_week - timedelta(weeks=ACCURACY_WEEKS - 1)
    accuracy = _accuracy_by_week(totals, first_week)

    return Dashboard(
        zone=zone,
        goal=goal,
        modules=dict(by_module),
        topics=topics,
        weakest=weakest,
        readiness=readiness,
        days_left=days_left,
        ready=ready,
        heatmap=charts.heatmap(days=activity, today=today),
        accuracy_chart=_accuracy_chart(accuracy, first_week),
        due_chart=_due_chart(due_next),
        time_chart=_time_chart(seconds, this_week),
        due_next=due_next,
    )


_CARD_FIELDS = ("question_id", "state", "step", "stability", "difficulty", "due", "last_review")


def _accuracy_chart(accuracy: dict[date, tuple[int, int]], first_week: date) -> SafeString:
    points = []
    for n in range(ACCURACY_WEEKS):
        week = first_week + timedelta(weeks=n)
        answered, right = accuracy.get(week, (0, 0))
        percent = 100 * right / answered if answered else None
        title = (
            f"Week of {week:%-d %b}: {right} of {answered} right"
            if answered
            else f"Week of {week:%-d %b}: no answers"
        )
        points.append(charts.Point(label=f"{week:%-d %b}", percent=percent, title=title))
    return charts.line(
        points=points, title="Accuracy per week", empty="Answer a few questions to see this."
    )


def _due_chart(due_next: list[tuple[date, int]]) -> SafeString:
    items = [
        charts.Bar(label=f"{day:%-d}", value=count, title=f"{day:%a %-d %b}: {count} due")
        for day, count in due_next
    ]
    return charts.bars(
        items=items, title="Reviews due in the next 14 days", unit="cards", empty="Nothing due."
    )


def _time_chart(seconds: dict[date, int], this_week: date) -> SafeString:
    weekly: dict[date, int] = defaultdict(int)
    first = this_week - timedelta(weeks=TIME_WEEKS - 1)
    for day, total in seconds.items():
        if day >= first:
            weekly[day - timedelta(days=day.weekday())] += total
    items = []
    for n in range(TIME_WEEKS):
        week = first + timedelta(weeks=n)
        minutes = weekly.get(week, 0) // 60
        items.append(
            charts.Bar(
                label=f"{week:%-d/%-m}",
                value=minutes,
                title=f"Week of {week:%-d %b}: {minutes} min",
            )
        )
    return charts.bars(
        items=items, title="Time studied per week", unit="min", empty="Start a session to see this."
    )
