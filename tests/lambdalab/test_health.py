import pytest
from django.test import Client, override_settings


@pytest.mark.django_db
def test_redis_down_reports_degraded_with_reasons(client: Client) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("redis unreachable")
    assert any("redis" in reason for reason in body["reasons"])


@pytest.mark.django_db
def test_redis_up_without_worker_is_degraded(client: Client, redis_url: str) -> None:
    with override_settings(REDIS_URL=redis_url):
        response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["redis"] == "ok"
    assert "no celery worker answered" in body["reasons"]


@pytest.mark.integration
def test_live_worker_makes_health_ok(
    client: Client, redis_url: str, celery_worker_process: str
) -> None:
    with override_settings(REDIS_URL=redis_url):
        response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert celery_worker_process in body["checks"]["workers"]
    assert response["Cache-Control"].startswith("max-age=0")
