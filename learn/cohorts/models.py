"""Cohorts: a group of learners an instructor runs a course for.

An instructor owns cohorts; learners join one with its join code. A cohort carries a target
date, assignments with due dates, and optionally a sandbox quota stricter than the site's.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from learn.models import Lesson, Module, TimeStampedModel
from learn.practice.models import Question
from sandbox.engine.spec import MEMORY_MAX_MB, MEMORY_MIN_MB, TIMEOUT_MAX_S, TIMEOUT_MIN_S

# No 0/O or 1/I/L: codes are read aloud and typed from slides.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 8


def join_code_new() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


class Cohort(TimeStampedModel):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_cohorts"
    )
    name = models.CharField(max_length=120)
    join_code = models.CharField(max_length=16, unique=True, default=join_code_new)
    joining_open = models.BooleanField(default=True, help_text="Learners may join with the code.")
    target_date = models.DateField(
        null=True, blank=True, help_text="When the cohort should be ready (an interview day)."
    )
    members: models.ManyToManyField = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="cohorts"
    )

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("cohorts:detail", kwargs={"pk": self.pk})


class Membership(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cohort_memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "user"], name="cohorts_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.cohort}"


class AssignmentKind(models.TextChoices):
    MODULE = "module", "Module"
    LESSON = "lesson", "Lesson"
    QUIZ = "quiz", "Quiz on a lesson"
    CHALLENGE = "challenge", "Code challenge"


class Assignment(TimeStampedModel):
    """Work set for a cohort with a due date: read a module or lesson, pass a quiz, solve a
    challenge. Exactly the target its kind names is set (a constraint says so)."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField(max_length=12, choices=AssignmentKind.choices)
    module = models.ForeignKey(Module, on_delete=models.CASCADE, null=True, blank=True)
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, null=True, blank=True)
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    due_date = models.DateField()

    class Meta:
        ordering = ["due_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="module",
                        module__isnull=False,
                        lesson__isnull=True,
                        question__isnull=True,
                    )
                    | Q(
                        kind__in=["lesson", "quiz"],
                        module__isnull=True,
                        lesson__isnull=False,
                        question__isnull=True,
                    )
                    | Q(
                        kind="challenge",
                        module__isnull=True,
                        lesson__isnull=True,
                        question__isnull=False,
                    )
                ),
                name="cohorts_assignment_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.target} (due {self.due_date})"

    @property
    def target(self) -> Module | Lesson | Question | None:
        return self.module or self.lesson or self.question


class SandboxQuota(models.Model):
    """Per-cohort sandbox limits. Blank means the site's default; a learner in several cohorts
    gets the strictest of each limit."""

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, related_name="quota")
    invocations_per_minute = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    max_concurrent = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Invocations queued or running at once.",
    )
    max_memory_mb = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(MEMORY_MIN_MB), MaxValueValidator(MEMORY_MAX_MB)],
    )
    max_timeout_s = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(TIMEOUT_MIN_S), MaxValueValidator(TIMEOUT_MAX_S)],
    )

    def __str__(self) -> str:
        return f"quota of {self.cohort}"
