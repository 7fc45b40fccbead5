"""Remember the learner's time zone in their session at login, so pages can show local times
without a query per request (learn.study.middleware reads it); keep the day totals of
/progress/ up to date as answers, reviews and study time are saved."""

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

SESSION_TZ_KEY = "study_tz"
SESSION_ACTIVE_KEY = "study_session_id"


@receiver(user_logged_in, dispatch_uid="study_tz_on_login")
def remember_time_zone(sender: object, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    from learn.study.selectors import profile_get, session_active

    profile = profile_get(user=user)
    request.session[SESSION_TZ_KEY] = profile.time_zone if profile else "UTC"
    active = session_active(user=user)
    if active is not None:
        request.session[SESSION_ACTIVE_KEY] = active.pk


# Day totals ---------------------------------------------------------------------------------
# Saves only: a receiver of post_delete would make Django fetch and signal every row of a
# cascade (an account's 10,000 answers); totals of deleted rows go with their learner, or with
# `manage.py study_totals_rebuild`.

ANSWER_FIELDS = {"answered_at", "correct"}


@receiver(post_save, sender="practice.Answer", dispatch_uid="study_totals_answer")
def answer_saved(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and not ANSWER_FIELDS & set(update_fields):
        return
    from learn.practice.models import AttemptItem
    from learn.study.services.totals import day_totals_refresh

    user_id = (
        AttemptItem.objects.filter(pk=instance.item_id)
        .values_list("attempt__user_id", flat=True)
        .first()
    )
    if user_id is not None:
        day_totals_refresh(user_id=user_id, moments=[instance.answered_at], what=["answers"])


@receiver(post_save, sender="practice.ReviewLog", dispatch_uid="study_totals_review")
def review_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    from learn.practice.models import ReviewCard
    from learn.study.services.totals import day_totals_refresh

    user_id = (
        ReviewCard.objects.filter(pk=instance.card_id).values_list("user_id", flat=True).first()
    )
    if user_id is not None:
        day_totals_refresh(user_id=user_id, moments=[instance.review_datetime], what=["reviews"])


@receiver(post_save, sender="study.StudySpan", dispatch_uid="study_totals_span")
def span_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    from learn.study.services.totals import day_totals_refresh

    day_totals_refresh(user_id=instance.user_id, moments=[instance.started_at], what=["seconds"])
