"""Secrets never reach the logs or an error page: a function's environment variables, the
Django SECRET_KEY, learners' access key secrets, and passwords in service URLs."""

import json
import logging
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings

from sandbox import execution, services
from sandbox.api.models import AccessKey
from sandbox.api.services import access_key_create
from sandbox.models import Invocation
from tests.sandbox.factories import FunctionFactory, InvocationFactory

pytestmark = pytest.mark.django_db

ENV_SECRET = "env-secret-7f3a9c1e"
FAILS = (
    "import os\n"
    "def lambda_handler(event, context):\n"
    "    raise RuntimeError('handler failed on purpose')\n"
)


def test_a_function_run_and_its_failure_log_no_environment_variable(
    learner: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    function = FunctionFactory(owner=learner, code=FAILS)
    services.function_update_config(function=function, environment={"API_TOKEN": ENV_SECRET})
    invocation = InvocationFactory(
        function=function, config=services.spec_for(function=function).to_config()
    )
    assert ENV_SECRET in json.dumps(invocation.config)  # it does reach the engine
    done = execution.invocation_execute(invocation_id=invocation.pk, worker="test")
    assert done.status == Invocation.Status.ERROR
    # The engine breaking (not the handler) is logged with a traceback: still no secret.
    with mock.patch("sandbox.pool.get_pool", side_effect=RuntimeError("pool exploded")):
        broken = InvocationFactory(function=function, config=invocation.config)
        assert execution.invocation_execute(invocation_id=broken.pk).status == "failed"
    assert caplog.records, "nothing was logged, so this checks nothing"
    assert ENV_SECRET not in caplog.text
    assert ENV_SECRET not in (done.log + done.failure_reason + json.dumps(done.error))


def test_error_pages_show_no_secret(learner: User) -> None:
    _key, secret = access_key_create(owner=learner)
    client = Client(raise_request_exception=False)
    client.force_login(learner)
    boom = RuntimeError("something broke")
    with mock.patch("sandbox.views.selectors.function_list", side_effect=boom):
        response = client.get("/sandbox/")
    assert response.status_code == 500
    page = response.content.decode()
    for secret_text in (settings.SECRET_KEY, secret, "something broke", "Traceback"):
        assert secret_text not in page
    # Even DEBUG's technical page hides the settings that look secret.
    with (
        override_settings(DEBUG=True),
        mock.patch("sandbox.views.selectors.function_list", side_effect=boom),
    ):
        debug_page = client.get("/sandbox/").content.decode()
    assert "something broke" in debug_page  # it is the technical page
    assert settings.SECRET_KEY not in debug_page
    assert secret not in debug_page


@override_settings(REDIS_URL="redis://:hunter2-redis-pass@127.0.0.1:1/0")
def test_health_reasons_name_no_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert "hunter2-redis-pass" not in response.content.decode()
    assert "hunter2-redis-pass" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_access_key_secrets_are_shown_once_and_never_logged(
    lambda_client_for, learner: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    lam = lambda_client_for(learner)
    key = lam.access_key
    secret = AccessKey.objects.get(pk=key.pk).secret
    assert lam.list_functions()["Functions"] == []
    wrong = "w" * 40
    with pytest.raises(ClientError):
        lambda_client_for(learner, secret=wrong).list_functions()
    client = Client()
    client.force_login(learner)
    listing = client.get("/accounts/keys/").content.decode()
    assert key.access_key_id in listing and secret not in listing
    assert caplog.records, "nothing was logged, so this checks nothing"
    assert secret not in caplog.text and wrong not in caplog.text
