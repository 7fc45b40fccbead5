from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, transaction

from learn.roles import instructors_group_sync

DEMO_PASSWORD = "lambda-lab-demo"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    created: bool


def demo_users_ensure() -> list[DemoAccount]:
    """Create the demo learner and instructor once; later calls change nothing.

    Their passwords are public (printed by `make run`): they exist for local trials only.
    """
    accounts = []
    for username, role in (("learner", "learner"), ("instructor", "instructor")):
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if role == "instructor":
            user.groups.add(instructors_group_sync())
            if not user.is_staff:
                user.is_staff = True  # the admin is where instructors author content
                user.save(update_fields=["is_staff"])
        accounts.append(DemoAccount(username, DEMO_PASSWORD, role, created))
    return accounts


def signup_allowance_take(*, client: str, limit: int, window_seconds: int = 3600) -> bool:
    """Count one sign-up for this client; False once it has had `limit` in the window.

    The count lives in the cache (Redis in production), so every web worker shares it.
    """
    key = f"signup-count:{client}"
    cache.add(key, 0, window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        count = 1
    return count <= limit


def account_sign_up(*, username: str, email: str, password: str) -> User | None:
    """Create a learner account; None when the username (in any letter case) is taken.

    Both outcomes cost one password hash, so neither the answer nor its timing tells a caller
    whether the name exists.
    """
    hashed = make_password(password)
    if User.objects.filter(username__iexact=username).exists():
        return None
    try:
        with transaction.atomic():
            return User.objects.create(username=username, email=email, password=hashed)
    except IntegrityError:  # the same name signed up a moment ago
        return None
