"""Study sessions and what they measure. Every time is stored in UTC; days are the learner's.

A session is a planned list of steps; time on task is the sum of its spans, each a stretch of
visible, unpaused page time reported by heartbeats. Days, streaks and weeks are computed from
these UTC rows in the learner's time zone at read time, so changing the time zone re-buckets
the whole history correctly and daylight-saving changes need no special rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from learn.models import Lesson, TimeStampedModel

SESSION_MINUTES = (15, 25, 45)


class GoalKind(models.TextChoices):
    MINUTES = "minutes", "Minutes studied"
    REVIEWS = "reviews", "Reviews done"


class StudyProfile(TimeStampedModel):
    """The learner's study settings: time zone (IANA name) and daily goal."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_profile"
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    goal_kind = models.CharField(max_length=8, choices=GoalKind.choices, default=GoalKind.MINUTES)
    goal_target = models.PositiveSmallIntegerField(default=15)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(goal_target__gte=1) & Q(goal_target__lte=600),
                name="study_goal_target_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone})"


class SessionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    FINISHED = "finished", "Finished"


class EndReason(models.TextChoices):
    LEARNER = "learner", "Ended by the learner"
    INACTIVITY = "inactivity", "Ended after inactivity"
    COMPLETED = "completed", "All steps done"


class StudySession(TimeStampedModel):
    """One sitting of planned study. At most one is active per learner (resume finds it)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_sessions"
    )
    minutes = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=10, choices=SessionStatus.choices, default=SessionStatus.ACTIVE
    )
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Visible, unpaused time credited so far (the sum of the spans' seconds).
    active_seconds = models.PositiveIntegerField(default=0)
    # The last heartbeat of the span being counted; null while hidden, paused or closed.
    counting_since = models.DateTimeField(null=True, blank=True)
    # Any sign of life (heartbeat or action): inactivity is measured from here.
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "-started_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="active"),
                name="study_one_active_session",
            ),
            models.CheckConstraint(
                condition=Q(minutes__in=SESSION_MINUTES), name="study_session_minutes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minutes}-minute session #{self.pk} of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.status == SessionStatus.ACTIVE


class StepKind(models.TextChoices):
    REVIEWS = "reviews", "Due reviews"
    LESSON = "lesson", "Lesson"
    QUESTIONS = "questions", "New questions"
    SANDBOX = "sandbox", "Sandbox exercise"


class StepStatus(models.TextChoices):
    PENDING = "pending", "To do"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class StudyStep(models.Model):
    """One planned step of a session, in order. The current step is the first pending one."""

    session = models.ForeignKey(StudySession, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=StepKind.choices)
    lesson = models.ForeignKey(Lesson, on_delete=models.SET_NULL, null=True, blank=True)
    # Reviews and new questions are done as a practice attempt, opened when the step starts.
    attempt = models.ForeignKey(
        "practice.Attempt", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    question_count = models.PositiveSmallIntegerField(default=0)
    planned_minutes = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=8, choices=StepStatus.choices, default=StepStatus.PENDING)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "position"], name="study_step_position")
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.position} {self.kind}"


class StudySpan(models.Model):
    """A stretch of visible, unpaused study time, extended by each heartbeat. UTC."""

    session = models.ForeignKey(StudySession, on_delete=models.CASCADE, related_name="spans")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_spans"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["started_at"]
        indexes = [models.Index(fields=["user", "started_at"])]

    def __str__(self) -> str:
        return f"{self.seconds}s from {self.started_at:%Y-%m-%d %H:%M}"


class DayTotal(models.Model):
    """What a learner did on one local day (in their time zone): graded answers and how many
    were right, reviews rated, seconds studied. Kept up to date as answers, reviews and study
    time are written (learn.study.services.totals), so /progress/ reads a row a day instead of
    grouping the whole history by local day on every view."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="day_totals"
    )
    day = models.DateField()
    answers = models.PositiveIntegerField(default=0)  # graded answers (correct known)
    correct = models.PositiveIntegerField(default=0)
    reviews = models.PositiveIntegerField(default=0)
    seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["user", "day"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="study_day_total")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"
