"""Triggers are tested against the lab's real moto server, through the real Lambda API and a
real Celery worker."""

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from sandbox.aws.accounts import account_for
from sandbox.aws.clients import lab_client
from tests.sandbox.api.conftest import lam, lambda_client_for, other_learner  # noqa: F401


@pytest.fixture
def account(learner: User, moto_server: str) -> str:
    return account_for(learner)


@pytest.fixture
def sqs(account: str) -> Any:
    return lab_client("sqs", account_id=account)


def eventually(check: Callable[[], Any], *, timeout_s: float = 60, what: str = "") -> Any:
    """check()'s first truthy answer, asking again until timeout_s has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what or check}")
        time.sleep(0.2)
