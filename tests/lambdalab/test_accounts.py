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


def test_password_reset_mails_a_link_that_sets_a_new_password(
    client: Client, learner: User, mailoutbox: list[object]
) -> None:
    learner.email = "ada@example.com"
    learner.save()
    login_page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in login_page

    response = client.post("/accounts/password/reset/", {"email": "ada@example.com"}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/password/reset/sent/"
    assert "Check your e-mail" in response.content.decode()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ada@example.com"]  # type: ignore[attr-defined]
    body = message.body  # type: ignore[attr-defined]
    link = next(line for line in body.splitlines() if "/accounts/password/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]

    form_page = client.get("/" + path, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "Reset-pass-77q", "new_password2": "Reset-pass-77q"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == "/accounts/password/reset/done/"
    learner.refresh_from_db()
    assert learner.check_password("Reset-pass-77q")
    # The link works once.
    again = client.get("/" + path, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(
    client: Client, mailoutbox: list[object]
) -> None:
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mailoutbox == []


def test_after_sign_up_the_home_page_offers_the_first_lesson_and_a_session(
    client: Client,
) -> None:
    from tests.learn.factories import LessonFactory

    first = LessonFactory(title="What Lambda runs", module__order=0, order=0)
    LessonFactory(title="Later lesson", module__order=5)
    client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": "",
            "password1": "a-Strong-pass-9x",
            "password2": "a-Strong-pass-9x",
        },
    )
    # Sign-up sends the learner to log in (it does not tell whether the name was free).
    response = client.post(
        "/accounts/login/", {"username": "grace", "password": "a-Strong-pass-9x"}, follow=True
    )
    content = response.content.decode()
    assert "Your first steps" in content
    assert f'href="{first.get_absolute_url()}"' in content
    assert "What Lambda runs" in content
    assert 'action="/quiz/start/"' in content
    assert f'name="lesson" value="{first.slug}"' in content
    # Once a lesson has been opened, the page continues from it instead.
    client.get(first.get_absolute_url())
    assert "Your first steps" not in client.get("/").content.decode()
