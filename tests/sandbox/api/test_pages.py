"""The access-key page and the createaccesskey command."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from sandbox.api.models import AccessKey
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_creating_a_key_shows_its_secret_once(client, learner):
    client.force_login(learner)
    url = reverse("sandbox_api:access_keys")
    assert "no access keys yet" in client.get(url).content.decode()
    response = client.post(url)
    key = AccessKey.objects.get(owner=learner)
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert key.access_key_id in html and key.secret in html
    again = client.get(url).content.decode()
    assert key.access_key_id in again and key.secret not in again


def test_revoking_a_key(client, learner):
    client.force_login(learner)
    client.post(reverse("sandbox_api:access_keys"))
    key = AccessKey.objects.get(owner=learner)
    response = client.post(reverse("sandbox_api:access_key_revoke", args=[key.pk]), follow=True)
    key.refresh_from_db()
    assert key.revoked_at is not None and "is revoked" in response.content.decode()


def test_a_learner_cannot_revoke_anothers_key(client, learner):
    other = UserFactory()
    client.force_login(other)
    client.post(reverse("sandbox_api:access_keys"))
    key = AccessKey.objects.get(owner=other)
    client.force_login(learner)
    response = client.post(reverse("sandbox_api:access_key_revoke", args=[key.pk]))
    key.refresh_from_db()
    assert response.status_code == 404 and key.revoked_at is None


def test_at_most_two_active_keys(client, learner):
    client.force_login(learner)
    url = reverse("sandbox_api:access_keys")
    client.post(url)
    client.post(url)
    response = client.post(url)
    assert response.status_code == 422 and "the most a user can have" in response.content.decode()
    assert AccessKey.objects.filter(owner=learner).count() == 2


def test_the_page_needs_a_login(client):
    response = client.get(reverse("sandbox_api:access_keys"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_createaccesskey_prints_a_pair_for_aws_configure(learner):
    out = io.StringIO()
    call_command("createaccesskey", learner.username, stdout=out)
    key = AccessKey.objects.get(owner=learner)
    assert out.getvalue() == (
        f"aws_access_key_id = {key.access_key_id}\naws_secret_access_key = {key.secret}\n"
    )
    with pytest.raises(CommandError):
        call_command("createaccesskey", "nobody-by-this-name")
