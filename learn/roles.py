"""What the Instructors group may do: author course content, and look at learners' work."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from lambdalab.permissions import INSTRUCTORS_GROUP

# Instructors edit everything in learn but learners' own records; in sandbox and auth, and on
# those records, they may only look.
AUTHORED_APPS = ("learn", "practice")
VIEWED_APPS = ("sandbox", "auth")
LEARNER_RECORDS = {
    "learn": ("lessonprogress", "bookmark", "note"),
    "practice": (
        "attempt",
        "attemptitem",
        "answer",
        "reviewcard",
        "reviewlog",
        "submission",
        "testresult",
        "learnergoal",
    ),
}


def instructors_group_sync() -> Group:
    """Create the group if needed and grant it exactly the permissions above."""
    group, _ = Group.objects.get_or_create(name=INSTRUCTORS_GROUP)
    learner_records = Q()
    for app_label, models in LEARNER_RECORDS.items():
        learner_records |= Q(content_type__app_label=app_label, content_type__model__in=models)
    viewed = Q(content_type__app_label__in=VIEWED_APPS) | learner_records
    permissions = Permission.objects.filter(
        (Q(content_type__app_label__in=AUTHORED_APPS) & ~learner_records)
        | (viewed & Q(codename__startswith="view_"))
    )
    group.permissions.set(permissions)
    return group


def sync_after_migrate(**kwargs: Any) -> None:
    instructors_group_sync()
