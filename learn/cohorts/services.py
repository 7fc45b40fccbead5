"""Writes of the cohorts app. Every change an instructor makes is recorded in the admin log.

Input problems raise ValidationError with the field they concern; a join code that names no
open cohort raises Cohort.DoesNotExist.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from learn.cohorts.models import (
    Assignment,
    AssignmentKind,
    Cohort,
    Membership,
    SandboxQuota,
    join_code_new,
)
from learn.cohorts.selectors import cohort_by_code
from learn.models import Lesson, Module
from learn.practice.models import Question, QuestionType


def admin_log(*, actor: User, obj: models.Model, flag: int, message: str) -> None:
    """Record one instructor action in django.contrib.admin's LogEntry (the admin's history)."""
    LogEntry.objects.log_actions(
        user_id=actor.pk,
        queryset=[obj],
        action_flag=flag,
        change_message=message,
        single_object=True,
    )


def cohort_create(*, owner: User, name: str, target_date: datetime.date | None = None) -> Cohort:
    cohort = Cohort(owner=owner, name=name.strip(), target_date=target_date)
    cohort.full_clean()
    cohort.save()
    admin_log(actor=owner, obj=cohort, flag=ADDITION, message=f"Created cohort {cohort.name}.")
    return cohort


def cohort_update(*, cohort: Cohort, actor: User, **changes: Any) -> Cohort:
    """Change name, target_date or joining_open."""
    allowed = {"name", "target_date", "joining_open"}
    if set(changes) - allowed:
        raise TypeError(f"not cohort fields: {', '.join(sorted(set(changes) - allowed))}")
    changed = [field for field, value in changes.items() if getattr(cohort, field) != value]
    for field in changed:
        setattr(cohort, field, changes[field])
    if not changed:
        return cohort
    cohort.full_clean()
    cohort.save()
    admin_log(actor=actor, obj=cohort, flag=CHANGE, message=f"Changed {', '.join(changed)}.")
    return cohort


def cohort_code_regenerate(*, cohort: Cohort, actor: User) -> Cohort:
    """A new join code: the old one (and links with it) stop working."""
    cohort.join_code = join_code_new()
    cohort.save(update_fields=["join_code", "updated_at"])
    admin_log(actor=actor, obj=cohort, flag=CHANGE, message="New join code.")
    return cohort


def cohort_join(*, user: User, code: str) -> tuple[Cohort, bool]:
    """Add user to the cohort with this code. Returns (cohort, joined now); joining twice is
    harmless. Raises Cohort.DoesNotExist for an unknown or closed code."""
    cohort = cohort_by_code(code=code)
    try:
        with transaction.atomic():
            Membership.objects.create(cohort=cohort, user=user)
    except IntegrityError:
        return cohort, False
    return cohort, True


def member_remove(*, cohort: Cohort, user_id: int, actor: User) -> None:
    membership = Membership.objects.select_related("user").get(cohort=cohort, user_id=user_id)
    admin_log(
        actor=actor,
        obj=cohort,
        flag=CHANGE,
        message=f"Removed {membership.user.username} from the cohort.",
    )
    membership.delete()


def assignment_create(
    *,
    cohort: Cohort,
    actor: User,
    kind: str,
    due_date: datetime.date,
    module: Module | None = None,
    lesson: Lesson | None = None,
    question: Question | None = None,
) -> Assignment:
    """Set work for the cohort. The target must match the kind (a module for module, a
    lesson for lesson and quiz, a code challenge for challenge)."""
    targets = {
        AssignmentKind.MODULE: ("module", module),
        AssignmentKind.LESSON: ("lesson", lesson),
        AssignmentKind.QUIZ: ("lesson", lesson),
        AssignmentKind.CHALLENGE: ("question", question),
    }
    if kind not in targets:
        raise ValidationError({"kind": "Choose what to assign."})
    field, target = targets[AssignmentKind(kind)]
    if target is None:
        raise ValidationError({field: f"Choose the {field} to assign."})
    if kind == AssignmentKind.CHALLENGE and question and question.type != QuestionType.CODE:
        raise ValidationError({"question": "Only code challenges can be assigned on their own."})
    assignment = Assignment(cohort=cohort, kind=kind, due_date=due_date, **{field: target})
    assignment.full_clean()
    assignment.save()
    admin_log(actor=actor, obj=assignment, flag=ADDITION, message=f"Assigned {assignment}.")
    return assignment


def assignment_delete(*, assignment: Assignment, actor: User) -> None:
    admin_log(actor=actor, obj=assignment, flag=DELETION, message=f"Removed {assignment}.")
    assignment.delete()


QUOTA_FIELDS = ("invocations_per_minute", "max_concurrent", "max_memory_mb", "max_timeout_s")


def quota_set(*, cohort: Cohort, actor: User, **limits: int | None) -> SandboxQuota:
    """Set the cohort's sandbox limits (None: the site's default)."""
    if set(limits) - set(QUOTA_FIELDS):
        raise TypeError(f"not quota fields: {', '.join(sorted(set(limits) - set(QUOTA_FIELDS)))}")
    quota = SandboxQuota.objects.filter(cohort=cohort).first() or SandboxQuota(cohort=cohort)
    for field, value in limits.items():
        setattr(quota, field, value)
    quota.full_clean()
    quota.save()
    shown = ", ".join(f"{f}={getattr(quota, f) or 'default'}" for f in QUOTA_FIELDS)
    admin_log(actor=actor, obj=cohort, flag=CHANGE, message=f"Sandbox quota: {shown}.")
    return quota
