"""`make run` (scripts/dev.py) serves with debug off, on loopback, with a key of its own."""

import importlib.util
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def dev_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "scripts" / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def settings_under(env: dict[str, str], expression: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(env)
    result = subprocess.run(
        [sys.executable, "-c", f"import lambdalab.settings as s; print({expression})"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_local_run_is_not_in_debug_and_keeps_one_secret_key(tmp_path: Path) -> None:
    dev = dev_script()
    env: dict[str, str] = {}
    assert dev.configure(env, tmp_path) is False
    assert env["DJANGO_DEBUG"] == "false"
    assert env["DJANGO_ALLOWED_HOSTS"] == "127.0.0.1,localhost,[::1]"
    key = env["DJANGO_SECRET_KEY"]
    assert len(key) >= 50
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again: dict[str, str] = {}
    dev.configure(again, tmp_path)
    assert again["DJANGO_SECRET_KEY"] == key
    assert env["WEB_SERVER_FLAGS"] == ""


def test_django_debug_true_keeps_development_mode(tmp_path: Path) -> None:
    dev = dev_script()
    env = {"DJANGO_DEBUG": "true"}
    assert dev.configure(env, tmp_path) is True
    assert "DJANGO_SECRET_KEY" not in env
    assert env["WEB_SERVER_FLAGS"] == "--reload"
    assert not (tmp_path / "secret_key").exists()


def test_the_local_environment_gives_production_settings_over_plain_http(tmp_path: Path) -> None:
    dev = dev_script()
    env: dict[str, str] = {}
    dev.configure(env, tmp_path)
    shown = settings_under(
        env,
        "s.DEBUG, s.ALLOWED_HOSTS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, s.EMAIL_BACKEND.rsplit('.', 2)[1],"
        " s.STORAGES['staticfiles']['BACKEND'].rsplit('.', 1)[1]",
    )
    assert shown == (
        "False ['127.0.0.1', 'localhost', '[::1]'] False False 0 console"
        " CompressedManifestStaticFilesStorage"
    )


def test_production_mail_goes_to_smtp_and_cookies_are_secure() -> None:
    shown = settings_under(
        {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "k" * 50},
        "s.EMAIL_BACKEND.rsplit('.', 2)[1], s.SESSION_COOKIE_SECURE, s.SECURE_SSL_REDIRECT",
    )
    assert shown == "smtp True True"


def test_the_web_server_binds_loopback_only() -> None:
    web = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    assert "--bind 127.0.0.1:" in web
    assert "runserver" not in web


def test_every_scheduled_task_exists_and_beat_runs_in_make_run() -> None:
    from django.conf import settings

    from lambdalab.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
    procfile = (ROOT / "Procfile").read_text().splitlines()
    assert any(line.startswith("beat: celery -A lambdalab beat") for line in procfile)
