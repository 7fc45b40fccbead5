from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learn.services.content import CONTENT_ROOT, content_load


class Command(BaseCommand):
    help = (
        "Import modules, lessons and questions from learn/content/ (idempotent: updates in place, "
        "never deletes learner data). Exits non-zero if any file could not be loaded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--root", type=Path, default=CONTENT_ROOT, help="Content folder (default: %(default)s)"
        )

    def handle(self, *args: Any, root: Path, **options: Any) -> None:
        report = content_load(root=root)
        for line in report.summary_lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(f"{len(report.errors)} problem(s) in {root}; the rest was loaded")
