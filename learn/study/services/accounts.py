"""The learner's data as a whole: export it as JSON, or delete the account with all of it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

EXPORT_FORMAT = 1


def _rows(queryset: Any, *fields: str) -> list[dict[str, Any]]:
    return [
        {
            key: (value.isoformat() if hasattr(value, "isoformat") else value)
            for key, value in row.items()
        }
        for row in queryset.values(*fields)
    ]


def account_export(*, user: User) -> dict[str, Any]:
    """Everything the learner made or that was recorded about them, times in UTC ISO 8601.

    Hidden test events of code challenges and other learners' data never appear.
    """
    from learn.models import Bookmark, LessonProgress, Note
    from learn.practice.models import (
        Answer,
        Attempt,
        LearnerGoal,
        ReviewCard,
        ReviewLog,
        Submission,
    )
    from learn.study.models import StudyProfile, StudySession, StudySpan, StudyStep
    from sandbox.models import Function

    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "account": {
            "username": user.get_username(),
            "email": user.email,
            "date_joined": user.date_joined.isoformat(),
        },
        "study_profile": _rows(
            StudyProfile.objects.filter(user=user), "time_zone", "goal_kind", "goal_target"
        ),
        "interview_goal": _rows(LearnerGoal.objects.filter(user=user), "interview_date"),
        "lesson_progress": _rows(
            LessonProgress.objects.filter(user=user),
            "lesson__slug",
            "created_at",
            "last_viewed_at",
            "completed_at",
        ),
        "bookmarks": _rows(Bookmark.objects.filter(user=user), "lesson__slug", "created_at"),
        "notes": _rows(Note.objects.filter(user=user), "lesson__slug", "text", "updated_at"),
        "attempts": _rows(
            Attempt.objects.filter(user=user),
            "id",
            "kind",
            "status",
            "lesson__slug",
            "started_at",
            "finished_at",
        ),
        "answers": _rows(
            Answer.objects.filter(item__attempt__user=user).order_by("answered_at"),
            "item__attempt_id",
            "item__version__question__slug",
            "answered_at",
            "bool_value",
            "numeric_value",
            "text_value",
            "correct",
            "score",
            "self_grade",
        ),
        "review_cards": _rows(
            ReviewCard.objects.filter(user=user),
            "question__slug",
            "state",
            "step",
            "stability",
            "difficulty",
            "due",
            "last_review",
        ),
        "review_logs": _rows(
            ReviewLog.objects.filter(card__user=user).order_by("review_datetime"),
            "card__question__slug",
            "rating",
            "review_datetime",
            "review_duration_ms",
        ),
        "submissions": _rows(
            Submission.objects.filter(user=user),
            "version__question__slug",
            "code",
            "status",
            "tests_passed",
            "tests_total",
            "grade",
            "created_at",
        ),
        "study_sessions": _rows(
            StudySession.objects.filter(user=user),
            "id",
            "minutes",
            "status",
            "end_reason",
            "started_at",
            "ended_at",
            "active_seconds",
        ),
        "study_steps": _rows(
            StudyStep.objects.filter(session__user=user),
            "session_id",
            "position",
            "kind",
            "lesson__slug",
            "status",
            "completed_at",
        ),
        "study_time": _rows(
            StudySpan.objects.filter(user=user), "session_id", "started_at", "ended_at", "seconds"
        ),
        "sandbox_functions": _rows(
            Function.objects.filter(owner=user), "name", "runtime", "handler", "created_at"
        ),
    }


@transaction.atomic
def account_delete(*, user: User, confirm_username: str) -> None:
    """Delete the account and, by cascade, everything it owns.

    Raises ValueError unless `confirm_username` repeats the username exactly.
    """
    if confirm_username.strip() != user.get_username():
        raise ValueError("Type your username exactly to confirm.")
    user.delete()
