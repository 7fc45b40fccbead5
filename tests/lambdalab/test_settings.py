import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from lambdalab import settings as project_settings

ROOT = Path(__file__).resolve().parents[2]


def import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import lambdalab.settings as s; print(s.DEBUG, s.ALLOWED_HOSTS)"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("Yes", True), ("0", False), ("off", False)]
)
def test_env_bool_reads_common_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("LAMBDALAB_FLAG", raw)
    assert project_settings.env_bool("LAMBDALAB_FLAG", not expected) is expected


def test_env_bool_rejects_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDALAB_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="LAMBDALAB_FLAG must be true or false"):
        project_settings.env_bool("LAMBDALAB_FLAG", False)


def test_env_int_and_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDALAB_N", "12")
    monkeypatch.setenv("LAMBDALAB_HOSTS", " a.example , b.example ,")
    assert project_settings.env_int("LAMBDALAB_N", 1) == 12
    assert project_settings.env_list("LAMBDALAB_HOSTS", []) == ["a.example", "b.example"]
    monkeypatch.setenv("LAMBDALAB_N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        project_settings.env_int("LAMBDALAB_N", 1)


def test_production_without_secret_key_stops_with_one_line() -> None:
    result = import_settings(DJANGO_DEBUG="false")
    assert result.returncode == 1
    assert result.stderr.strip() == "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off."


def test_production_with_secret_key_starts_and_reads_hosts() -> None:
    result = import_settings(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="lab.example.com,www.lab.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['lab.example.com', 'www.lab.example.com']"


def test_deploy_checks_are_clean_with_production_settings() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
        DJANGO_ALLOWED_HOSTS="lab.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_database_url_selects_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import lambdalab.settings as s; d = s.DATABASES['default'];"
            " print(d['ENGINE'], d['NAME'])",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, DATABASE_URL="postgres://u:p@db.internal:5432/lab"),
    )
    assert result.stdout.split() == ["django.db.backends.postgresql", "lab"]
