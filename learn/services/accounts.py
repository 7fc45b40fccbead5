from dataclasses import dataclass

from django.contrib.auth.models import User

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
