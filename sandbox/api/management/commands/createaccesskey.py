from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sandbox.api import services


class Command(BaseCommand):
    help = "Create an access key for USERNAME and print it in the form `aws configure` expects."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"There is no user called {options['username']}.")
        try:
            key, secret = services.access_key_create(owner=user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"aws_access_key_id = {key.access_key_id}\n")
        self.stdout.write(f"aws_secret_access_key = {secret}\n")
