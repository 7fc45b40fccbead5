"""Study sessions: start from a plan, advance through steps, pause, heartbeats, end.

Time on task is credited only from heartbeats: the page sends one every HEARTBEAT_INTERVAL
while it is visible, and a last one (`visible=False`) when it is hidden. The time between two
beats of a visible page is credited; a gap longer than MAX_GAP means the page was not reporting
(closed, asleep, offline) and is not. Every service takes `now` so tests need no clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from learn.practice.models import Attempt, AttemptStatus
from learn.practice.services import attempts as practice
from learn.practice.services.grading import PracticeError
from learn.services.progress import lesson_completion_set
from learn.study.models import (
    SESSION_MINUTES,
    EndReason,
    SessionStatus,
    StepKind,
    StepStatus,
    StudySession,
    StudySpan,
    StudyStep,
)
from learn.study.selectors import session_active, session_plan, step_current
from learn.study.services.totals import day_totals_refresh

HEARTBEAT_INTERVAL = timedelta(seconds=15)
MAX_GAP = timedelta(seconds=45)
INACTIVITY = timedelta(minutes=30)


class StudyError(Exception):
    """Something the learner asked for cannot be done; the message says why."""


class SessionEnded(StudyError):
    pass


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


@transaction.atomic
def session_start(*, user: User, minutes: int, now: datetime | None = None) -> StudySession:
    """Start a session of `minutes` planned from what matters now, or return the active one.

    Raises StudyError for a length other than 15, 25 or 45 or when there is nothing to study.
    """
    moment = _now(now)
    if minutes not in SESSION_MINUTES:
        raise StudyError("Pick 15, 25 or 45 minutes.")
    current = session_active(user=user)
    if current is not None:
        if session_expire_if_inactive(session=current, now=moment):
            current = None
        else:
            return current
    plan = session_plan(user=user, minutes=minutes, now=moment)
    if not plan:
        raise StudyError("Nothing to study right now: every lesson is done and no review is due.")
    try:
        with transaction.atomic():
            session = StudySession.objects.create(
                user=user,
                minutes=minutes,
                started_at=moment,
                last_seen_at=moment,
                counting_since=moment,
            )
    except IntegrityError:  # a double click started one a moment ago
        existing = session_active(user=user)
        assert existing is not None
        return existing
    StudyStep.objects.bulk_create(
        StudyStep(
            session=session,
            position=n,
            kind=step.kind,
            lesson=step.lesson,
            question_count=step.question_count,
            planned_minutes=step.planned_minutes,
        )
        for n, step in enumerate(plan, start=1)
    )
    StudySpan.objects.create(
        session=session, user=user, started_at=moment, ended_at=moment, seconds=0
    )
    return session


def _credit(*, session: StudySession, moment: datetime, zone: ZoneInfo) -> datetime | None:
    """Credit the running span up to `moment` (if it is still running) to the session and to
    its span rows; a span that crosses local midnight is split so each day gets its share.

    Whole seconds only: returns the instant credited up to (the fraction left over keeps
    running), or None when nothing was credited.
    """
    since = session.counting_since
    if since is None or session.paused_at is not None or moment <= since:
        return None
    gap = moment - since
    if gap > MAX_GAP:
        return None
    seconds = int(gap.total_seconds())
    if seconds <= 0:
        return None
    until = since + timedelta(seconds=seconds)
    start_day = since.astimezone(zone).date()
    end_day = until.astimezone(zone).date()
    if start_day == end_day:
        updated = StudySpan.objects.filter(session=session, ended_at=since).update(
            ended_at=until, seconds=F("seconds") + seconds
        )
        if not updated:
            StudySpan.objects.create(
                session=session,
                user_id=session.user_id,
                started_at=since,
                ended_at=until,
                seconds=seconds,
            )
    else:
        midnight = datetime.combine(end_day, datetime.min.time(), tzinfo=zone)
        before = max(0, int((midnight - since).total_seconds()))
        updated = StudySpan.objects.filter(session=session, ended_at=since).update(
            ended_at=midnight, seconds=F("seconds") + before
        )
        if not updated and before:
            StudySpan.objects.create(
                session=session,
                user_id=session.user_id,
                started_at=since,
                ended_at=midnight,
                seconds=before,
            )
        StudySpan.objects.create(
            session=session,
            user_id=session.user_id,
            started_at=midnight,
            ended_at=until,
            seconds=seconds - before,
        )
    session.active_seconds += seconds
    # The span updates above send no post_save: bring the day totals along here.
    day_totals_refresh(
        user_id=session.user_id, moments=[since, until - timedelta(seconds=1)], what=["seconds"]
    )
    return until


def _open_span(*, session: StudySession, moment: datetime) -> None:
    if not StudySpan.objects.filter(session=session, ended_at=moment).exists():
        StudySpan.objects.create(
            session=session, user_id=session.user_id, started_at=moment, ended_at=moment
        )
    session.counting_since = moment


def session_heartbeat(
    *, session: StudySession, visible: bool, zone: ZoneInfo, now: datetime | None = None
) -> StudySession:
    """Record that the session's page is visible (keep counting) or was just hidden (stop).

    Raises SessionEnded if the session is over (ended, or inactive for too long: it is then
    ended as of its last sign of life).
    """
    moment = _now(now)
    with transaction.atomic():
        session = StudySession.objects.select_for_update().get(pk=session.pk)
        if not session.is_active:
            raise SessionEnded("This session has ended.")
        expired = session_expire_if_inactive(session=session, now=moment)
        if not expired:
            _beat(session=session, visible=visible, zone=zone, moment=moment)
    if expired:
        raise SessionEnded("This session ended after a long break.")
    return session


def _beat(*, session: StudySession, visible: bool, zone: ZoneInfo, moment: datetime) -> None:
    credited_to = _credit(session=session, moment=moment, zone=zone)
    session.last_seen_at = moment
    if not visible or session.paused_at is not None:
        session.counting_since = None
    elif credited_to is not None:
        session.counting_since = credited_to
    elif session.counting_since is None or moment - session.counting_since > MAX_GAP:
        # Back after a hidden or silent stretch: that stretch is not counted; start afresh.
        _open_span(session=session, moment=moment)
    session.save(update_fields=["active_seconds", "counting_since", "last_seen_at", "updated_at"])


@transaction.atomic
def session_pause(
    *, session: StudySession, zone: ZoneInfo, now: datetime | None = None
) -> StudySession:
    """Stop the clock; time until resume is not counted. Idempotent."""
    moment = _now(now)
    session = StudySession.objects.select_for_update().get(pk=session.pk)
    if not session.is_active:
        raise SessionEnded("This session has ended.")
    if session.paused_at is None:
        _credit(session=session, moment=moment, zone=zone)
        session.paused_at = moment
        session.counting_since = None
        session.last_seen_at = moment
        session.save()
    return session


@transaction.atomic
def session_resume(*, session: StudySession, now: datetime | None = None) -> StudySession:
    """Start the clock again after a pause. Idempotent."""
    moment = _now(now)
    session = StudySession.objects.select_for_update().get(pk=session.pk)
    if not session.is_active:
        raise SessionEnded("This session has ended.")
    if session.paused_at is not None:
        session.paused_at = None
        _open_span(session=session, moment=moment)
        session.last_seen_at = moment
        session.save()
    return session


def session_end(
    *,
    session: StudySession,
    zone: ZoneInfo,
    reason: str = EndReason.LEARNER,
    now: datetime | None = None,
) -> StudySession:
    """End the session now, crediting the running span. Idempotent: a second end changes nothing."""
    moment = _now(now)
    with transaction.atomic():
        session = StudySession.objects.select_for_update().get(pk=session.pk)
        if not session.is_active:
            return session
        _credit(session=session, moment=moment, zone=zone)
        _close(session=session, at=moment, reason=reason)
    return session


def _close(*, session: StudySession, at: datetime, reason: str) -> None:
    session.status = SessionStatus.FINISHED
    session.end_reason = reason
    session.ended_at = at
    session.paused_at = None
    session.counting_since = None
    session.save()


def session_expire_if_inactive(*, session: StudySession, now: datetime | None = None) -> bool:
    """End a session nobody has touched for INACTIVITY, as of its last sign of life (so the
    summary does not count the break). Returns whether it ended it."""
    moment = _now(now)
    if not session.is_active or moment - session.last_seen_at < INACTIVITY:
        return False
    _close(session=session, at=session.last_seen_at, reason=EndReason.INACTIVITY)
    return True


def sessions_expire_inactive(*, now: datetime | None = None) -> int:
    """End every session inactive for too long (the periodic sweep); returns how many."""
    moment = _now(now)
    stale = StudySession.objects.filter(
        status=SessionStatus.ACTIVE, last_seen_at__lt=moment - INACTIVITY
    )
    ended = 0
    for session in stale:
        with transaction.atomic():
            ended += session_expire_if_inactive(session=session, now=moment)
    return ended


def step_open(
    *, session: StudySession, step: StudyStep, now: datetime | None = None
) -> Attempt | None:
    """Begin a step's practice: a review session of the due cards or a quiz on the lesson's new
    questions (created once; opening again returns the same attempt). None for other steps.

    Raises StudyError when the step is not the current one or nothing is left to practise.
    """
    moment = _now(now)
    if not session.is_active:
        raise SessionEnded("This session has ended.")
    current = step_current(list(session.steps.all()))
    if current is None or current.pk != step.pk:
        raise StudyError("That step is not the current one.")
    if step.attempt is not None and step.attempt.status == AttemptStatus.IN_PROGRESS:
        return step.attempt
    try:
        if step.kind == StepKind.REVIEWS:
            attempt = practice.review_start(
                user=session.user, now=moment, size=step.question_count or 1
            )
        elif step.kind == StepKind.QUESTIONS and step.lesson is not None:
            attempt = practice.quiz_start(
                user=session.user,
                length=step.question_count or 1,
                lesson=step.lesson,
                now=moment,
            )
        else:
            return None
    except PracticeError as error:
        raise StudyError(str(error)) from error
    if attempt is None:
        raise StudyError("No review is due any more: skip to the next step.")
    step.attempt = attempt
    step.save(update_fields=["attempt"])
    session.last_seen_at = moment
    session.save(update_fields=["last_seen_at", "updated_at"])
    return attempt


@transaction.atomic
def step_advance(
    *,
    session: StudySession,
    zone: ZoneInfo,
    skip: bool = False,
    now: datetime | None = None,
) -> StudyStep | None:
    """Finish (or skip) the current step and return the next one; after the last step the
    session ends as completed and None is returned. Finishing a lesson step marks the lesson
    complete. Raises SessionEnded if the session is over."""
    moment = _now(now)
    session = StudySession.objects.select_for_update().get(pk=session.pk)
    if not session.is_active:
        raise SessionEnded("This session has ended.")
    steps = list(session.steps.select_related("lesson"))
    current = step_current(steps)
    if current is not None:
        current.status = StepStatus.SKIPPED if skip else StepStatus.DONE
        current.completed_at = moment
        current.save(update_fields=["status", "completed_at"])
        if current.kind == StepKind.LESSON and current.lesson is not None and not skip:
            lesson_completion_set(user=session.user, lesson=current.lesson, completed=True)
    session.last_seen_at = moment
    session.save(update_fields=["last_seen_at", "updated_at"])
    following = step_current(steps)
    if following is None:
        _credit(session=session, moment=moment, zone=zone)
        _close(session=session, at=moment, reason=EndReason.COMPLETED)
    return following
