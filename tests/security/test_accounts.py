"""Login throttling (django-axes), the sign-up limit, and a sign-up form that names nobody."""

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
SIGNUP = "/accounts/signup/"


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_hundred_wrong_passwords_then_the_right_one_is_refused(
    client: Client, learner: User
) -> None:
    statuses = [
        client.post(LOGIN, {"username": learner.username, "password": f"guess-{n}"}).status_code
        for n in range(100)
    ]
    response = client.post(LOGIN, {"username": learner.username, "password": PASSWORD})
    assert not logged_in(client)
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    # The first failures are ordinary wrong-password pages; the rest are the lockout.
    assert statuses[:4] == [200] * 4
    assert set(statuses[5:]) == {429}


def test_a_few_mistakes_then_the_right_password_logs_in(client: Client, learner: User) -> None:
    for n in range(3):
        client.post(LOGIN, {"username": learner.username, "password": f"typo-{n}"})
    response = client.post(LOGIN, {"username": learner.username, "password": PASSWORD})
    assert response.status_code == 302
    assert logged_in(client)


def test_lockout_is_per_client_so_others_cannot_lock_a_learner_out(learner: User) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(10):
        attacker.post(LOGIN, {"username": learner.username, "password": f"guess-{n}"})
    owner = Client(REMOTE_ADDR="198.51.100.7")
    response = owner.post(LOGIN, {"username": learner.username, "password": PASSWORD})
    assert response.status_code == 302
    assert logged_in(owner)


def test_admin_login_is_throttled_too(client: Client, instructor: User) -> None:
    for n in range(6):
        client.post("/admin/login/", {"username": instructor.username, "password": f"g{n}"})
    response = client.post("/admin/login/", {"username": instructor.username, "password": PASSWORD})
    assert response.status_code == 429
    assert not logged_in(client)


def test_passwords_tried_are_not_stored(client: Client, learner: User) -> None:
    from axes.models import AccessAttempt

    client.post(LOGIN, {"username": learner.username, "password": "hunter2-secret"})
    attempt = AccessAttempt.objects.get(username=learner.username)
    assert "hunter2-secret" not in attempt.post_data


def sign_up(client: Client, username: str, password: str = "a-Strong-pass-9x") -> object:
    return client.post(
        SIGNUP,
        {"username": username, "email": "", "password1": password, "password2": password},
    )


def test_taken_and_free_usernames_get_the_same_answer(client: Client, learner: User) -> None:
    taken = sign_up(client, learner.username)
    taken_other_case = sign_up(client, learner.username.upper())
    free = sign_up(client, "brand-new-name")
    answers = {(r.status_code, r["Location"]) for r in (taken, taken_other_case, free)}  # type: ignore[attr-defined]
    assert answers == {(302, LOGIN)}
    assert User.objects.filter(username__iexact=learner.username).count() == 1
    learner.refresh_from_db()
    assert learner.check_password(PASSWORD)  # the existing account is untouched
    page = client.get(LOGIN).content.decode()
    assert "exists" not in page and "taken:" in page  # one message that fits both cases


def test_a_new_account_can_log_in(client: Client) -> None:
    sign_up(client, "ada", "a-Strong-pass-9x")
    response = client.post(LOGIN, {"username": "ada", "password": "a-Strong-pass-9x"})
    assert response.status_code == 302
    assert logged_in(client)


@override_settings(SIGNUP_LIMIT_PER_HOUR=3)
def test_sign_ups_per_client_are_limited() -> None:
    client = Client(REMOTE_ADDR="192.0.2.44")
    statuses = [sign_up(client, f"bulk{n}").status_code for n in range(5)]  # type: ignore[attr-defined]
    assert statuses == [302, 302, 302, 429, 429]
    assert User.objects.filter(username__startswith="bulk").count() == 3
    other = Client(REMOTE_ADDR="192.0.2.45")
    assert sign_up(other, "elsewhere").status_code == 302  # type: ignore[attr-defined]
    assert User.objects.filter(username="elsewhere").exists()


def test_invalid_sign_up_forms_do_not_use_up_the_allowance(client: Client) -> None:
    for _ in range(10):
        client.post(SIGNUP, {"username": "x", "password1": "a-Strong-pass-9x", "password2": "no"})
    assert sign_up(client, "patient").status_code == 302  # type: ignore[attr-defined]
    assert User.objects.filter(username="patient").exists()
