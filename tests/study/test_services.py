"""learn/study/services: starting, resuming, heartbeats (hidden time excluded), pausing, ending,
settings, export and deletion."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from learn.models import LessonProgress
from learn.practice.models import AttemptKind, ReviewCard
from learn.study.models import EndReason, SessionStatus, StepKind, StepStatus, StudySession
from learn.study.services import accounts, profiles
from learn.study.services import sessions as svc
from learn.study.services.sessions import SessionEnded, StudyError
from tests.study.conftest import T0, make_due

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def beat(session, seconds: float, visible: bool = True) -> StudySession:
    return svc.session_heartbeat(session=session, visible=visible, zone=PARIS, now=at(seconds))


def test_start_creates_the_planned_steps_once(course, student) -> None:
    session = svc.session_start(user=student, minutes=15, now=T0)
    assert [s.kind for s in session.steps.all()] == [
        StepKind.LESSON,
        StepKind.QUESTIONS,
        StepKind.SANDBOX,
    ]
    again = svc.session_start(user=student, minutes=45, now=at(60))
    assert again.pk == session.pk and again.minutes == 15  # resumes instead of a second one


def test_start_rejects_other_lengths(course, student) -> None:
    with pytest.raises(StudyError):
        svc.session_start(user=student, minutes=20, now=T0)


def test_resume_after_closing_keeps_the_current_step(course, student) -> None:
    from learn.study.selectors import session_active, session_steps, step_current

    session = svc.session_start(user=student, minutes=25, now=T0)
    svc.step_advance(session=session, zone=PARIS, now=at(300))
    beat(session, 301, visible=False)  # the tab is closed
    # Twenty minutes later (under the inactivity limit) the learner comes back.
    resumed = session_active(user=student)
    assert resumed is not None and resumed.pk == session.pk
    assert not svc.session_expire_if_inactive(session=resumed, now=at(301 + 20 * 60))
    current = step_current(session_steps(session=resumed))
    assert current is not None and current.position == 2 and current.kind == StepKind.QUESTIONS


def test_heartbeats_count_visible_time_only(course, student) -> None:
    session = svc.session_start(user=student, minutes=15, now=T0)
    for n in range(1, 5):
        session = beat(session, 15 * n)  # visible for a minute
    session = beat(session, 70, visible=False)  # hidden at 70 s
    session = beat(session, 600)  # visible again ten minutes later: the gap is not counted
    for n in range(1, 3):
        session = beat(session, 600 + 15 * n)
    assert session.active_seconds == 70 + 30
    assert sum(session.spans.values_list("seconds", flat=True)) == 100
    assert session.spans.count() == 2


def test_a_page_that_stops_reporting_is_not_credited(course, student) -> None:
    session = svc.session_start(user=student, minutes=15, now=T0)
    session = beat(session, 15)
    # No hidden beat arrived (the browser was killed); five minutes pass.
    session = beat(session, 315)
    session = beat(session, 330)
    assert session.active_seconds == 15 + 15


def test_pause_stops_the_clock_and_resume_restarts_it(course, student) -> None:
    session = svc.session_start(user=student, minutes=15, now=T0)
    session = beat(session, 15)
    session = svc.session_pause(session=session, zone=PARIS, now=at(20))
    session = beat(session, 35)
    session = beat(session, 50)
    assert session.active_seconds == 20
    session = svc.session_resume(session=session, now=at(300))
    session = beat(session, 315)
    assert session.active_seconds == 35


def test_fractions_of_a_second_are_not_lost(course, student) -> None:
    session = svc.session_start(user=student, minutes=15, now=T0)
    for n in range(1, 11):
        session = beat(session, 1.5 * n)
    assert session.active_seconds == 15


def test_a_span_across_local_midnight_is_split(course, student) -> None:
    start = datetime(2026, 3, 2, 22, 59, 50, tzinfo=UTC)  # 23:59:50 in Paris
    session = svc.session_start(user=student, minutes=15, now=start)
    svc.session_heartbeat(
        session=session, visible=True, zone=PARIS, now=start + timedelta(seconds=30)
    )
    spans = list(session.spans.order_by("started_at").values_list("seconds", flat=True))
    assert spans == [10, 20]


def test_inactivity_ends_the_session_at_its_last_sign_of_life(course, student) -> None:
    session = svc.session_start(user=student, minutes=15, now=T0)
    session = beat(session, 15)
    session = beat(session, 20, visible=False)
    with pytest.raises(SessionEnded):
        beat(session, 20 + 31 * 60)
    session.refresh_from_db()
    assert session.status == SessionStatus.FINISHED
    assert session.end_reason == EndReason.INACTIVITY and session.ended_at == at(20)
    assert session.active_seconds == 20


def test_sweep_ends_only_stale_sessions(course, student) -> None:
    svc.session_start(user=student, minutes=15, now=T0)
    assert svc.sessions_expire_inactive(now=at(60)) == 0
    assert svc.sessions_expire_inactive(now=at(31 * 60)) == 1


def test_advancing_through_every_step_completes_the_session(course, student) -> None:
    session = svc.session_start(user=student, minutes=15, now=T0)
    assert svc.step_advance(session=session, zone=PARIS, now=at(10)) is not None
    assert LessonProgress.objects.get(user=student, lesson=course[0]).completed
    assert svc.step_advance(session=session, zone=PARIS, skip=True, now=at(20)) is not None
    assert svc.step_advance(session=session, zone=PARIS, now=at(30)) is None
    session.refresh_from_db()
    assert session.status == SessionStatus.FINISHED and session.end_reason == EndReason.COMPLETED
    assert list(session.steps.values_list("status", flat=True)) == [
        StepStatus.DONE,
        StepStatus.SKIPPED,
        StepStatus.DONE,
    ]
    with pytest.raises(SessionEnded):
        svc.step_advance(session=session, zone=PARIS, now=at(40))


def test_end_is_idempotent_and_credits_the_running_span(course, student) -> None:
    session = svc.session_start(user=student, minutes=15, now=T0)
    session = beat(session, 15)
    ended = svc.session_end(session=session, zone=PARIS, now=at(25))
    assert ended.active_seconds == 25 and ended.end_reason == EndReason.LEARNER
    again = svc.session_end(session=session, zone=PARIS, now=at(500))
    assert again.ended_at == at(25) and again.active_seconds == 25


def test_opening_practice_steps_makes_one_attempt_each(course, student) -> None:
    make_due(student, course[1], at=T0 - timedelta(minutes=5))
    session = svc.session_start(user=student, minutes=25, now=T0)
    steps = list(session.steps.all())
    review = svc.step_open(session=session, step=steps[0], now=at(5))
    assert review is not None and review.kind == AttemptKind.REVIEW
    assert svc.step_open(session=session, step=steps[0], now=at(6)) == review
    with pytest.raises(StudyError):
        svc.step_open(session=session, step=steps[2], now=at(7))  # not the current step
    svc.step_advance(session=session, zone=PARIS, now=at(60))
    svc.step_advance(session=session, zone=PARIS, now=at(120))
    steps = list(session.steps.all())
    quiz = svc.step_open(session=session, step=steps[2], now=at(130))
    assert quiz is not None and quiz.kind == AttemptKind.QUIZ and quiz.items.count() == 3


# Settings, export, deletion ----------------------------------------------------------------


def test_profile_update_validates_zone_and_goal(student) -> None:
    profile = profiles.profile_update(
        user=student, time_zone="America/Sao_Paulo", goal_kind="reviews", goal_target=30
    )
    assert profile.time_zone == "America/Sao_Paulo" and profile.goal_target == 30
    with pytest.raises(StudyError):
        profiles.profile_update(
            user=student, time_zone="Mars/Olympus", goal_kind="minutes", goal_target=5
        )
    with pytest.raises(StudyError):
        profiles.profile_update(user=student, time_zone="UTC", goal_kind="minutes", goal_target=0)


def test_profile_ensure_ignores_a_bad_browser_guess(db) -> None:
    from tests.factories import UserFactory

    assert profiles.profile_ensure(user=UserFactory(), time_zone="Nowhere/Land").time_zone == "UTC"
    guessed = profiles.profile_ensure(user=UserFactory(), time_zone="Asia/Kolkata")
    assert guessed.time_zone == "Asia/Kolkata"


def test_export_holds_the_learners_data_and_nobody_elses(course, student) -> None:
    from tests.factories import UserFactory

    other = UserFactory()
    make_due(other, course[0])
    make_due(student, course[1])
    session = svc.session_start(user=student, minutes=15, now=T0)
    beat(session, 15)
    data = accounts.account_export(user=student)
    assert data["account"]["username"] == "study-learner"
    assert len(data["review_cards"]) == 1
    assert data["review_cards"][0]["question__slug"] == course[1].questions.first().slug
    assert data["study_sessions"][0]["active_seconds"] == 15
    assert data["study_time"][0]["seconds"] == 15
    assert data["study_profile"] == [
        {"time_zone": "Europe/Paris", "goal_kind": "minutes", "goal_target": 15}
    ]
    import json

    json.dumps(data)  # plain JSON types only


def test_delete_needs_the_username_and_removes_everything(course, student) -> None:
    from django.contrib.auth.models import User

    make_due(student, course[0])
    svc.session_start(user=student, minutes=15, now=T0)
    with pytest.raises(ValueError):
        accounts.account_delete(user=student, confirm_username="someone-else")
    assert User.objects.filter(pk=student.pk).exists()
    accounts.account_delete(user=student, confirm_username="study-learner")
    assert not User.objects.filter(pk=student.pk).exists()
    assert not StudySession.objects.exists() and not ReviewCard.objects.exists()


def test_the_sweep_task_ends_sessions_left_idle(course, student) -> None:
    from learn.study.tasks import expire_inactive_sessions

    session = svc.session_start(user=student, minutes=15, now=timezone_now() - timedelta(hours=1))
    assert expire_inactive_sessions() == 1
    session.refresh_from_db()
    assert session.end_reason == EndReason.INACTIVITY
    assert expire_inactive_sessions() == 0  # idempotent


def timezone_now() -> datetime:
    from django.utils import timezone

    return timezone.now()
