import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

pytestmark = pytest.mark.django_db


def test_anonymous_instructor_page_redirects_to_login(client: Client) -> None:
    response = client.get("/instructor/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/instructor/"


def test_learner_gets_403_on_instructor_page(client: Client, learner: User) -> None:
    client.force_login(learner)
    response = client.get("/instructor/")
    assert response.status_code == 403


def test_instructor_sees_instructor_page_and_nav_link(client: Client, instructor: User) -> None:
    client.force_login(instructor)
    assert client.get("/instructor/").status_code == 200
    assert b'href="/instructor/"' in client.get("/").content


def test_instructors_group_may_author_learn_content_but_only_view_sandbox() -> None:
    from learn.roles import instructors_group_sync

    codenames = set(instructors_group_sync().permissions.values_list("codename", flat=True))
    assert {"change_lesson", "add_module"} <= codenames
    sandbox_perms = Permission.objects.filter(
        content_type__app_label="sandbox", group__name="Instructors"
    ).values_list("codename", flat=True)
    assert all(codename.startswith("view_") for codename in sandbox_perms)
