"""The learner's study settings: time zone and daily goal."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.contrib.auth.models import User
from django.db import transaction

from learn.study.models import GoalKind, StudyProfile
from learn.study.services.sessions import StudyError
from learn.study.services.totals import day_totals_rebuild

GOAL_MAX = {GoalKind.MINUTES: 600, GoalKind.REVIEWS: 500}


def time_zone_valid(name: str) -> bool:
    """An IANA zone name this machine knows (what browsers report, e.g. Europe/Paris)."""
    if not name or name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def profile_ensure(*, user: User, time_zone: str = "") -> StudyProfile:
    """The learner's profile, created on first need; `time_zone` (a browser's guess at sign-up)
    is used only when valid, else UTC."""
    defaults = {"time_zone": time_zone if time_zone_valid(time_zone) else "UTC"}
    profile, _ = StudyProfile.objects.get_or_create(user=user, defaults=defaults)
    return profile


def profile_update(*, user: User, time_zone: str, goal_kind: str, goal_target: int) -> StudyProfile:
    """Change the time zone and daily goal. Raises StudyError on an unknown zone or a goal out
    of range."""
    if not time_zone_valid(time_zone):
        raise StudyError(f"Unknown time zone {time_zone!r}: pick one from the list.")
    if goal_kind not in GoalKind.values:
        raise StudyError("The goal is minutes studied or reviews done.")
    if not 1 <= goal_target <= GOAL_MAX[GoalKind(goal_kind)]:
        raise StudyError(f"Pick a daily goal between 1 and {GOAL_MAX[GoalKind(goal_kind)]}.")
    profile = profile_ensure(user=user)
    moved = profile.time_zone != time_zone
    profile.time_zone = time_zone
    profile.goal_kind = goal_kind
    profile.goal_target = goal_target
    profile.full_clean()
    with transaction.atomic():
        profile.save()
        if moved:  # the same instants fall on other local days now
            day_totals_rebuild(user_id=user.pk)
    return profile
