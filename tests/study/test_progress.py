"""/progress/ (learn/views/home.py, learn/selectors/progress.py, learn/charts.py): per module
and topic figures, the streak, charts empty and large, and a query count that does not grow."""

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from learn import charts
from learn.practice.models import Answer, LearnerGoal
from learn.study.models import StudyProfile
from tests.factories import UserFactory
from tests.practice.factories import LessonFactory, ModuleFactory, single_question
from tests.study.history import history_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank(db):
    module = ModuleFactory()
    lessons = [LessonFactory(module=module, slug=f"bank-{n}", order=n) for n in range(4)]
    versions = []
    for n in range(20):
        tags = ["cold-starts"] if n % 2 else ["pricing", "limits"]
        versions.append(single_question(question__lesson=lessons[n % 4], question__tags=tags))
    return versions


def learner_with(answers: int, bank) -> object:
    user = UserFactory()
    StudyProfile.objects.create(user=user, time_zone="America/New_York")
    LearnerGoal.objects.create(user=user, interview_date=timezone.now().date() + timedelta(days=30))
    history_build(user=user, versions=bank, answers=answers, now=timezone.now())
    return user


def count_queries(client, user) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/progress/").status_code == 200
    return len(captured)


def test_query_count_is_the_same_for_ten_and_thousands_of_answers(
    client, bank, django_assert_num_queries
) -> None:
    small = count_queries(client, learner_with(10, bank))
    big_user = learner_with(3_000, bank)
    assert Answer.objects.filter(item__attempt__user=big_user).count() == 3_000
    client.force_login(big_user)
    with django_assert_num_queries(small):
        response = client.get("/progress/")
    assert response.status_code == 200
    assert small == 24  # session, user, nav groups; lessons, readiness, dashboard: see the views


def test_large_history_fills_every_chart(client, bank) -> None:
    user = learner_with(3_000, bank)
    client.force_login(user)
    html = client.get("/progress/").content.decode()
    heat = html.split('data-testid="chart-heatmap"')[1].split("</figure>")[0]
    assert heat.count("<rect") >= 365 and "heat-4" in heat  # 20-minute days
    accuracy = html.split('data-testid="chart-accuracy"')[1].split("</figure>")[0]
    assert "<polyline" in accuracy and accuracy.count("<circle") >= 20
    assert html.split('data-testid="chart-due"')[1].split("</figure>")[0].count('class="bar"') == 14
    time_chart = html.split('data-testid="chart-time"')[1].split("</figure>")[0]
    assert "Time studied per week" in time_chart and 'class="bar"' in time_chart
    assert 'data-testid="readiness"' in html
    assert 'style="' not in html.split('data-testid="chart-heatmap"')[1]  # the CSP forbids it


def test_empty_history_renders_empty_charts(client) -> None:
    user = UserFactory()
    client.force_login(user)
    html = client.get("/progress/").content.decode()
    assert html.count("<svg") >= 4
    assert "Activity over the last year: nothing yet" in html
    assert "Answer a few questions to see this." in html
    assert "Nothing due." in html and "Start a session to see this." in html
    assert re.search(r'data-testid="streak">0<', html)


def test_module_and_topic_figures_and_weakest_topics(client, bank) -> None:
    user = learner_with(40, bank)
    # Every pricing/limits answer wrong, cold-starts right: pricing and limits are weakest.
    for answer in Answer.objects.filter(item__attempt__user=user).select_related(
        "item__version__question"
    ):
        right = answer.item.version.question.tags.filter(slug="cold-starts").exists()
        answer.correct, answer.score = right, 1.0 if right else 0.0
        answer.save()
    client.force_login(user)
    html = client.get("/progress/").content.decode()
    weakest = html.split('id="weakest-heading"')[1].split("</section>")[0]
    assert "Practise pricing" in weakest and "Practise limits" in weakest
    assert weakest.index("limits") < weakest.index("cold starts")
    assert 'name="topics" value="pricing"' in weakest
    assert "Accuracy 50%" in html  # each module has both kinds of questions
    topics = html.split('id="topics-heading"')[1]
    assert re.search(r"cold starts</th>\s*<td>20</td>\s*<td>\s*100%", topics)


def test_practise_this_starts_a_quiz_on_the_topic(client, bank) -> None:
    user = learner_with(20, bank)
    client.force_login(user)
    response = client.post("/quiz/start/", {"topics": "pricing", "length": "5"})
    assert response.status_code == 302 and "/quiz/attempts/" in response["Location"]


def test_a_studied_session_shows_in_the_streak_and_heatmap(client, course, student) -> None:
    from learn.study.services import sessions as svc

    now = timezone.now()
    zone = ZoneInfo("Europe/Paris")
    # 16 minutes inside today's local day, even just after midnight in Paris: a session that
    # straddled midnight would split its minutes and meet the goal on neither day.
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(now - timedelta(minutes=16), midnight + timedelta(minutes=1))
    session = svc.session_start(user=student, minutes=15, now=start)
    for n in range(1, 65):
        svc.session_heartbeat(
            session=session, visible=True, zone=zone, now=start + timedelta(seconds=15 * n)
        )
    svc.session_end(session=session, zone=zone, now=start + timedelta(minutes=16))
    client.force_login(student)
    html = client.get("/progress/").content.decode()
    assert re.search(r'data-testid="streak">1<', html)
    today = now.astimezone(zone).date()
    assert re.search(rf'class="heat-2"[^>]*data-day="{today.isoformat()}"', html)


# The chart functions themselves ------------------------------------------------------------


def test_heatmap_covers_a_year_and_levels_by_activity() -> None:
    today = date(2026, 12, 1)
    svg = charts.heatmap(
        days={
            today: charts.DayActivity(minutes=45),
            today - timedelta(days=1): charts.DayActivity(reviews=3),
        },
        today=today,
    )
    assert svg.count("<rect") == 53 * 7 - (6 - today.weekday())
    assert 'class="heat-4" x' in svg and f'data-day="{today.isoformat()}"' in svg
    assert "Mon 30 Nov 2026: 0 min, 3 reviews" in svg


def test_bars_and_line_escape_labels_and_handle_empty_input() -> None:
    svg = charts.bars(
        items=[charts.Bar(label="<b>", value=2, title="a & b")], title="T", unit="x", empty="none"
    )
    assert "&lt;b&gt;" in svg and "a &amp; b" in svg
    assert "none" in charts.bars(items=[], title="T", unit="x", empty="none")
    gap = charts.line(
        points=[
            charts.Point("1", 50, "a"),
            charts.Point("2", None, "b"),
            charts.Point("3", 80, "c"),
            charts.Point("4", 90, "d"),
        ],
        title="T",
        empty="none",
    )
    assert gap.count("<polyline") == 1 and gap.count("<circle") == 3
