"""learn/management/commands/load_content.py: output and exit status."""

import pytest
from django.core.management import CommandError, call_command

from tests.learn.conftest import ContentDir, lesson_text

pytestmark = pytest.mark.django_db


def test_reports_what_changed(content_dir: ContentDir, capsys) -> None:
    content_dir.lesson("01-a.md", lesson_text("a"))
    call_command("load_content", "--root", str(content_dir.root))
    assert "created 3, updated 0, unchanged 0, errors 0" in capsys.readouterr().out
    call_command("load_content", "--root", str(content_dir.root))
    assert "created 0, updated 0, unchanged 3, errors 0" in capsys.readouterr().out


def test_fails_after_loading_the_rest(content_dir: ContentDir, capsys) -> None:
    content_dir.lesson("01-a.md", lesson_text("a"))
    content_dir.lesson("02-b.md", lesson_text("b", minutes="lots"))
    with pytest.raises(CommandError, match="1 problem"):
        call_command("load_content", "--root", str(content_dir.root))
    out = capsys.readouterr().out
    assert "ERROR lessons/02-b.md: 'minutes' must be a whole number" in out
    assert "created lesson a" in out


def test_shipped_content_loads_cleanly(capsys) -> None:
    call_command("load_content")
    assert "errors 0" in capsys.readouterr().out
