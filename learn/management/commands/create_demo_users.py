from typing import Any

from django.core.management.base import BaseCommand

from learn.services.accounts import demo_users_ensure


class Command(BaseCommand):
    help = "Create a demo learner and a demo instructor (idempotent) and print their logins."

    def handle(self, *args: Any, **options: Any) -> None:
        for account in demo_users_ensure():
            state = "created" if account.created else "exists"
            self.stdout.write(
                f"Demo {account.role}: {account.username} / {account.password} ({state})"
            )
