"""Security headers on every kind of response, the cookies' flags, and templates the Content
Security Policy can hold to (no inline script, style or event handler anywhere)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize(
    "path", ["/", "/lessons/", "/accounts/login/", "/no-such-page/", "/healthz", "/sandbox/"]
)
def test_every_response_carries_the_security_headers(path: str, learner: User) -> None:
    client = Client()
    client.force_login(learner)
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = csp_directives(response["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    for directive in ("default-src", "script-src", "style-src"):
        assert policy[directive] == ["'self'"], directive
    assert not any("unsafe" in value for values in policy.values() for value in values)


def test_templates_need_no_unsafe_inline() -> None:
    """The policy has no 'unsafe-inline': an inline script, style or handler would not run."""
    problems = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        checks = {
            "inline <script>": re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text),
            "<style> element": re.search(r"<style[\s>]", text),
            "style attribute": re.search(r"\sstyle=", text),
            "event handler attribute": re.search(r"\son[a-z]+\s*=", text),
            "javascript: URL": re.search(r"javascript:", text, re.IGNORECASE),
            "hx-on attribute": re.search(r"\shx-on", text),
        }
        problems += [f"{template.relative_to(ROOT)}: {what}" for what, hit in checks.items() if hit]
    assert not problems, problems
    config = (ROOT / "templates/learn/_htmx_config.html").read_text()
    settings = json.loads(re.search(r"content='([^']*)'", config).group(1))
    # htmx would otherwise evaluate hx-on/js: attributes and inject its own <style>.
    assert settings["allowEval"] is False and settings["includeIndicatorStyles"] is False
    assert settings["allowScriptTags"] is False


def test_session_and_csrf_cookies_are_http_only_where_it_matters_and_same_site() -> None:
    User.objects.create_user("cookie-learner", password="a-Strong-pass-9x")
    client = Client(enforce_csrf_checks=False)
    response = client.post(
        "/accounts/login/", {"username": "cookie-learner", "password": "a-Strong-pass-9x"}
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    csrf = client.get("/accounts/login/").cookies.get("csrftoken") or client.cookies["csrftoken"]
    assert csrf["samesite"] == "Lax"


def production(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="production-secret-" + "k" * 40,
        DJANGO_ALLOWED_HOSTS="lab.example.com",
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import lambdalab.settings as s\n{code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_cookies_are_secure_and_https_is_enforced() -> None:
    printed = production(
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS >= 31536000,"
        " s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.DEBUG)"
    )
    assert printed == "True True True True True True False"
