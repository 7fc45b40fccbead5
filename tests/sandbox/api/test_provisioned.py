"""Provisioned concurrency configs on versions and aliases, through boto3."""

import base64
import time

import pytest
from django.test import override_settings

from sandbox.api.models import ProvisionedConcurrencyConfig
from sandbox.aws.accounts import account_for
from sandbox.models import Invocation
from tests.sandbox.api.conftest import create_hello, hello_zip

pytestmark = pytest.mark.django_db(transaction=True)


def published(lam, name: str = "hello") -> None:
    create_hello(lam, name=name)
    lam.publish_version(FunctionName=name)
    lam.update_function_code(
        FunctionName=name, ZipFile=hello_zip("def lambda_handler(e, c):\n    return 2\n")
    )
    lam.publish_version(FunctionName=name)


def test_provisioned_concurrency_needs_a_published_version_within_the_learners_cap(lam):
    published(lam)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.put_provisioned_concurrency_config(
            FunctionName="hello", Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    assert "unpublished function versions" in str(excinfo.value)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_provisioned_concurrency_config(
            FunctionName="hello", Qualifier="9", ProvisionedConcurrentExecutions=1
        )
    lam.create_alias(
        FunctionName="hello",
        Name="split",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_provisioned_concurrency_config(
            FunctionName="hello", Qualifier="split", ProvisionedConcurrentExecutions=1
        )
    # SANDBOX_LEARNER_PROVISIONED (2) across all of a learner's functions and versions.
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.put_provisioned_concurrency_config(
            FunctionName="hello", Qualifier="1", ProvisionedConcurrentExecutions=3
        )
    assert "at most 2 provisioned environments" in str(excinfo.value)
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName="hello", Qualifier="1")


def test_put_get_list_delete_and_conflicts(lam, learner, lambda_client_for, other_learner):
    arn = f"arn:aws:lambda:us-east-1:{account_for(learner)}:function:"
    published(lam)
    put = lam.put_provisioned_concurrency_config(
        FunctionName="hello", Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["RequestedProvisionedConcurrentExecutions"] == 1
    assert put["Status"] == "IN_PROGRESS" and put["AvailableProvisionedConcurrentExecutions"] == 0
    # One version gets provisioned concurrency one way only.
    lam.create_alias(FunctionName="hello", Name="live", FunctionVersion="1")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.put_provisioned_concurrency_config(
            FunctionName="hello", Qualifier="live", ProvisionedConcurrentExecutions=1
        )
    lam.put_provisioned_concurrency_config(
        FunctionName="hello", Qualifier="2", ProvisionedConcurrentExecutions=1
    )
    # Two in all: the cap is reached, a third is refused.
    published(lam, name="other")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_provisioned_concurrency_config(
            FunctionName="other", Qualifier="1", ProvisionedConcurrentExecutions=1
        )
    listed = lam.list_provisioned_concurrency_configs(FunctionName="hello")
    configs = listed["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in configs] == [arn + "hello:1", arn + "hello:2"]
    # A version with provisioned concurrency is not deleted under it.
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.delete_function(FunctionName="hello", Qualifier="2")

    other = lambda_client_for(other_learner)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_provisioned_concurrency_config(FunctionName="hello", Qualifier="1")
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.delete_provisioned_concurrency_config(FunctionName="hello", Qualifier="1")

    lam.delete_provisioned_concurrency_config(FunctionName="hello", Qualifier="2")
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName="hello", Qualifier="2")
    lam.delete_function(FunctionName="hello", Qualifier="2")


def test_not_above_reserved_concurrency(lam):
    published(lam)
    lam.put_function_concurrency(FunctionName="hello", ReservedConcurrentExecutions=1)
    with (
        override_settings(SANDBOX_LEARNER_PROVISIONED=5),
        pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo,
    ):
        lam.put_provisioned_concurrency_config(
            FunctionName="hello", Qualifier="1", ProvisionedConcurrentExecutions=2
        )
    assert "reserved concurrency" in str(excinfo.value)


def ready(lam, **params) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        config = lam.get_provisioned_concurrency_config(**params)
        if config["Status"] != "IN_PROGRESS":
            return config
        time.sleep(0.2)
    pytest.fail("the provisioned concurrency config stayed IN_PROGRESS")


@pytest.mark.integration
def test_an_alias_with_provisioned_concurrency_starts_warm(celery_worker_process, lam):
    published(lam)
    lam.create_alias(FunctionName="hello", Name="live", FunctionVersion="1")
    lam.put_provisioned_concurrency_config(
        FunctionName="hello", Qualifier="live", ProvisionedConcurrentExecutions=1
    )
    config = ready(lam, FunctionName="hello", Qualifier="live")
    assert config["Status"] == "READY"
    assert config["AvailableProvisionedConcurrentExecutions"] == 1
    assert config["AllocatedProvisionedConcurrentExecutions"] == 1

    # $LATEST running in between leaves version 1's provisioned environment alone.
    lam.invoke(FunctionName="hello")
    answer = lam.invoke(FunctionName="hello", Qualifier="live", LogType="Tail")
    assert answer["ExecutedVersion"] == "1"
    report = base64.b64decode(answer["LogResult"]).decode().splitlines()[-1]
    assert report.startswith("REPORT") and "Init Duration" not in report
    first_of_version_1 = Invocation.objects.filter(config__version="1").get()
    assert first_of_version_1.cold_start is False

    lam.delete_provisioned_concurrency_config(FunctionName="hello", Qualifier="live")
    assert not ProvisionedConcurrencyConfig.objects.exists()


def test_an_aliass_provisioned_concurrency_follows_it_to_another_version(lam):
    published(lam)
    lam.create_alias(FunctionName="hello", Name="live", FunctionVersion="1")
    lam.put_provisioned_concurrency_config(
        FunctionName="hello", Qualifier="live", ProvisionedConcurrentExecutions=1
    )
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_alias(FunctionName="hello", Name="live", FunctionVersion="$LATEST")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_alias(
            FunctionName="hello",
            Name="live",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
        )
    lam.update_alias(FunctionName="hello", Name="live", FunctionVersion="2")
    config = ProvisionedConcurrencyConfig.objects.get()
    assert (config.version_number, config.status) == (2, "IN_PROGRESS")
    # Version 1 holds no provisioned concurrency any more: it can go.
    lam.delete_function(FunctionName="hello", Qualifier="1")
    assert lam.get_alias(FunctionName="hello", Name="live")["FunctionVersion"] == "2"
