"""learn/study/views.py through the test client: plain posts and htmx alike."""

import json

import pytest
from django.contrib.auth.models import User

from learn.study.models import SessionStatus, StudySession

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client_in(client, student):
    client.force_login(student)
    return client


def start(client_in) -> StudySession:
    response = client_in.post("/study/start/", {"minutes": "15"})
    session = StudySession.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/study/{session.pk}/"
    return session


def test_study_home_offers_lengths_then_resumes_the_active_session(client_in, course) -> None:
    html = client_in.get("/study/").content.decode()
    assert 'type="radio" name="minutes" value="15"' in html and 'value="45"' in html
    session = start(client_in)
    assert client_in.get("/study/")["Location"] == f"/study/{session.pk}/"


def test_session_page_shows_the_plan_and_current_step(client_in, course) -> None:
    session = start(client_in)
    html = client_in.get(f"/study/{session.pk}/").content.decode()
    assert 'aria-current="step"' in html and "Read the lesson" in html
    assert "data-study-bar" in html  # the heartbeat runs on every page while studying
    assert f"/study/{session.pk}/heartbeat/" in html


def test_advance_with_htmx_swaps_the_plan_and_without_redirects(client_in, course) -> None:
    session = start(client_in)
    response = client_in.post(f"/study/{session.pk}/advance/", **HX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="study-plan"')
    assert "studyStepChanged" in response["HX-Trigger"]
    assert 'data-testid="step-2"' in html and "New questions" in html.split("Now:")[1]
    plain = client_in.post(f"/study/{session.pk}/advance/")
    assert plain.status_code == 302


def test_pause_and_resume_swap_the_timer(client_in, course) -> None:
    session = start(client_in)
    paused = client_in.post(f"/study/{session.pk}/pause/", **HX).content.decode()
    assert "(paused)" in paused and "Resume timer" in paused and "<html" not in paused
    resumed = client_in.post(f"/study/{session.pk}/resume/", **HX).content.decode()
    assert "Pause timer" in resumed


def test_heartbeat_is_204_while_running_and_410_after_the_end(client_in, course) -> None:
    session = start(client_in)
    assert client_in.post(f"/study/{session.pk}/heartbeat/", {"visible": "1"}).status_code == 204
    assert client_in.post(f"/study/{session.pk}/end/").status_code == 302
    assert client_in.post(f"/study/{session.pk}/heartbeat/", {"visible": "1"}).status_code == 410
    session.refresh_from_db()
    assert session.status == SessionStatus.FINISHED
    html = client_in.get(f"/study/{session.pk}/").content.decode()
    assert 'data-testid="summary"' in html and "data-study-bar" not in html


def test_another_learners_session_is_a_404(client, course, student) -> None:
    from tests.factories import UserFactory

    client.force_login(student)
    session = start(client)
    client.force_login(UserFactory())
    assert client.get(f"/study/{session.pk}/").status_code == 404
    assert client.post(f"/study/{session.pk}/heartbeat/", {"visible": "1"}).status_code == 404


def test_settings_save_the_zone_and_show_local_times(client_in) -> None:
    response = client_in.post(
        "/accounts/settings/",
        {"time_zone": "Asia/Tokyo", "goal_kind": "minutes", "goal_target": "20"},
    )
    assert response.status_code == 302
    html = client_in.get("/accounts/settings/").content.decode()
    assert "JST" in html and 'value="Asia/Tokyo" selected' in html


def test_export_is_a_json_download(client_in) -> None:
    response = client_in.get("/accounts/export/")
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["account"]["username"] == "study-learner"


def test_delete_asks_for_confirmation(client_in, student) -> None:
    assert "Type your username" in client_in.get("/accounts/delete/").content.decode()
    wrong = client_in.post("/accounts/delete/", {"confirm_username": "nope"})
    assert wrong.status_code == 200 and User.objects.filter(pk=student.pk).exists()
    done = client_in.post("/accounts/delete/", {"confirm_username": "study-learner"})
    assert done.status_code == 302 and not User.objects.filter(pk=student.pk).exists()
    assert client_in.get("/progress/").status_code == 302  # logged out


def test_signup_keeps_the_browsers_time_zone(client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newbie",
            "password1": "a-long-enough-passphrase-1",
            "password2": "a-long-enough-passphrase-1",
            "time_zone": "America/Chicago",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="newbie").study_profile.time_zone == "America/Chicago"
