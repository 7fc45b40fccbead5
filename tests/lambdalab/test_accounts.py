import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_up_creates_account_and_sends_to_login(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "ada",
            "email": "",
            "password1": "a-Strong-pass-9x",
            "password2": "a-Strong-pass-9x",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert User.objects.filter(username="ada").exists()
    assert not response.context["user"].is_authenticated


def test_sign_up_with_mismatched_passwords_keeps_input_and_explains(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "ada", "password1": "a-Strong-pass-9x", "password2": "different-9x"},
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="ada").exists()
    content = response.content.decode()
    assert "match" in content and "password" in content.lower()
    assert 'value="ada"' in content


def test_log_in_and_out(client: Client, learner: User) -> None:
    response = client.post("/accounts/login/", {"username": learner.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/progress/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/progress/").status_code == 302


def test_wrong_password_is_refused(client: Client, learner: User) -> None:
    response = client.post("/accounts/login/", {"username": learner.username, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_change(client: Client, learner: User) -> None:
    client.force_login(learner)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Another-pass-42z",
            "new_password2": "Another-pass-42z",
        },
    )
    assert response.status_code == 302
    learner.refresh_from_db()
    assert learner.check_password("Another-pass-42z")


@pytest.mark.parametrize("url", ["/progress/", "/quiz/", "/sandbox/"])
def test_learning_tools_need_an_account(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", ["/", "/lessons/"])
def test_reading_is_open_to_anonymous_visitors(client: Client, url: str) -> None:
    assert client.get(url).status_code == 200


def test_pages_carry_csrf_in_hx_headers_and_csp(client: Client) -> None:
    response = client.get("/")
    assert b'hx-headers=\'{"X-CSRFToken": "' in response.content
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_demo_users_command_is_idempotent(capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.management import call_command

    call_command("create_demo_users")
    call_command("create_demo_users")
    assert User.objects.filter(username__in=["learner", "instructor"]).count() == 2
    instructor = User.objects.get(username="instructor")
    assert instructor.groups.filter(name="Instructors").exists()
    out = capsys.readouterr().out
    assert "Demo instructor: instructor / lambda-lab-demo (exists)" in out
