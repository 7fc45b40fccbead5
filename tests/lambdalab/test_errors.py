import pytest
from django.test import Client, override_settings
from django.urls import path

pytestmark = pytest.mark.django_db


def broken_view(request: object) -> None:
    raise RuntimeError("secret-database-password-in-traceback")


urlpatterns = [path("boom/", broken_view)]


def test_unknown_url_gets_styled_404(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content
    assert b"site.css" in response.content


@override_settings(DEBUG=False, ROOT_URLCONF="tests.lambdalab.test_errors")
def test_server_error_is_styled_and_leaks_nothing() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"secret-database-password" not in response.content
    assert b"RuntimeError" not in response.content


def test_favicon_ico_points_at_the_svg_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/static/favicon.svg")


def test_learner_opening_an_instructor_page_gets_the_sites_403(client: Client) -> None:
    from tests.factories import UserFactory

    learner = UserFactory()
    client.force_login(learner)
    response = client.get("/instructor/")
    assert response.status_code == 403
    content = response.content.decode()
    assert "site.css" in content
    assert "This page is not open to you" in content
    assert learner.username in content
    assert 'href="/"' in content


@override_settings(DEBUG=False)
def test_an_expired_form_gets_the_sites_403_not_djangos_csrf_page() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    content = response.content.decode()
    assert "site.css" in content
    assert "This form could not be sent" in content
    assert "CSRF verification failed" not in content
