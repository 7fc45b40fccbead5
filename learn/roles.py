"""What the Instructors group may do: author course content, and look at learners' work."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from lambdalab.permissions import INSTRUCTORS_GROUP

# Instructors edit everything in learn; in sandbox and auth they may only look.
AUTHORED_APPS = ("learn", "practice")
VIEWED_APPS = ("sandbox", "auth")


def instructors_group_sync() -> Group:
    """Create the group if needed and grant it exactly the permissions above."""
    group, _ = Group.objects.get_or_create(name=INSTRUCTORS_GROUP)
    permissions = Permission.objects.filter(
        Q(content_type__app_label__in=AUTHORED_APPS)
        | Q(content_type__app_label__in=VIEWED_APPS, codename__startswith="view_")
    )
    group.permissions.set(permissions)
    return group


def sync_after_migrate(**kwargs: Any) -> None:
    instructors_group_sync()
