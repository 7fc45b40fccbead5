"""Rebuild the per-day totals /progress/ reads (study.DayTotal) from answers, reviews and study
spans: every learner, or the ones named. Safe to run at any time; it changes nothing that is
already right."""

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from learn.study.services.totals import day_totals_rebuild, day_totals_rebuild_all


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("usernames", nargs="*", help="only these learners")

    def handle(self, *args: Any, usernames: list[str], **options: Any) -> None:
        if not usernames:
            learners, days = day_totals_rebuild_all()
            self.stdout.write(f"{learners} learners, {days} days of totals")
            return
        for username in usernames:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No learner called {username!r}.")
            days = day_totals_rebuild(user_id=user.pk)
            self.stdout.write(f"{username}: {days} days of totals")
