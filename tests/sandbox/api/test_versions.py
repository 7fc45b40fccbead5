"""Published versions and aliases, weighted routing and Qualifier, through boto3."""

import base64
import json
from collections import Counter

import pytest
from botocore.exceptions import ClientError
from django.test import override_settings

from sandbox.models import Invocation
from tests.sandbox.api.conftest import create_hello, hello_zip

pytestmark = pytest.mark.django_db(transaction=True)


def returning(value: str) -> bytes:
    return hello_zip(f"def lambda_handler(event, context):\n    return {value}\n")


def two_versions(lam) -> None:
    create_hello(lam, source="def lambda_handler(event, context):\n    return 'one'\n")
    assert lam.publish_version(FunctionName="hello", Description="first")["Version"] == "1"
    lam.update_function_code(FunctionName="hello", ZipFile=returning("'two'"))
    assert lam.publish_version(FunctionName="hello")["Version"] == "2"


def test_versions_are_snapshots(lam):
    two_versions(lam)
    # Nothing changed since version 2: publishing again gives version 2 back.
    assert lam.publish_version(FunctionName="hello")["Version"] == "2"
    lam.update_function_configuration(FunctionName="hello", MemorySize=512)
    versions = lam.list_versions_by_function(FunctionName="hello")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert [v["MemorySize"] for v in versions] == [512, 128, 128]
    assert versions[1]["Description"] == "first"
    assert versions[1]["FunctionArn"].endswith(":function:hello:1")
    assert versions[1]["CodeSha256"] != versions[2]["CodeSha256"]
    one = lam.get_function_configuration(FunctionName="hello", Qualifier="1")
    assert one["Version"] == "1" and one["MemorySize"] == 128
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="hello", Qualifier="7")
    page = lam.list_versions_by_function(FunctionName="hello", MaxItems=2)
    rest = lam.list_versions_by_function(FunctionName="hello", Marker=page["NextMarker"])
    assert [v["Version"] for v in page["Versions"] + rest["Versions"]] == ["$LATEST", "1", "2"]


def test_aliases(lam):
    two_versions(lam)
    created = lam.create_alias(
        FunctionName="hello",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}},
    )
    assert created["AliasArn"].endswith(":function:hello:live")
    assert created["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.25}}
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_alias(FunctionName="hello", Name="live", FunctionVersion="1")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_alias(FunctionName="hello", Name="bad", FunctionVersion="9")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_alias(
            FunctionName="hello",
            Name="same",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}},
        )
    updated = lam.update_alias(
        FunctionName="hello", Name="live", FunctionVersion="2", RoutingConfig={}
    )
    assert updated["FunctionVersion"] == "2" and "RoutingConfig" not in updated
    assert lam.get_alias(FunctionName="hello", Name="live")["FunctionVersion"] == "2"
    lam.create_alias(FunctionName="hello", Name="beta", FunctionVersion="$LATEST")
    names = [a["Name"] for a in lam.list_aliases(FunctionName="hello")["Aliases"]]
    assert names == ["beta", "live"]
    # A version an alias points to cannot be deleted; once the alias is gone, it can.
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.delete_function(FunctionName="hello", Qualifier="2")
    lam.delete_alias(FunctionName="hello", Name="live")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_alias(FunctionName="hello", Name="live")
    lam.delete_function(FunctionName="hello", Qualifier="2")
    versions = lam.list_versions_by_function(FunctionName="hello")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]


@pytest.mark.integration
def test_invoke_a_version_and_an_alias(celery_worker_process, lam):
    two_versions(lam)
    lam.update_function_code(FunctionName="hello", ZipFile=returning("'latest'"))
    one = lam.invoke(FunctionName="hello", Qualifier="1", LogType="Tail")
    assert json.loads(one["Payload"].read()) == "one" and one["ExecutedVersion"] == "1"
    log = base64.b64decode(one["LogResult"]).decode()
    assert "Version: 1\n" in log
    latest = lam.invoke(FunctionName="hello")
    assert json.loads(latest["Payload"].read()) == "latest"
    assert latest["ExecutedVersion"] == "$LATEST"

    lam.create_alias(
        FunctionName="hello",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    seen = Counter()
    for _ in range(20):
        answer = lam.invoke(FunctionName="hello:live")
        seen[(answer["ExecutedVersion"], json.loads(answer["Payload"].read()))] += 1
    assert set(seen) == {("1", "one"), ("2", "two")}
    # The console's history records which version ran.
    versions = Counter(i.config["version"] for i in Invocation.objects.all())
    assert versions["$LATEST"] == 1 and versions["1"] + versions["2"] == 21


@override_settings(
    SANDBOX_USER_INVOCATIONS_PER_MINUTE=5000, SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS=5000
)
def test_a_weighted_alias_splits_1000_invocations_close_to_its_weights(lam, redis_url):
    two_versions(lam)
    lam.create_alias(
        FunctionName="hello",
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )
    try:
        for _ in range(1000):
            lam.invoke(FunctionName="hello", Qualifier="canary", InvocationType="Event")
        versions = Counter(i.config["version"] for i in Invocation.objects.all())
    finally:
        # No worker runs them here; drop the queued messages so no later test's worker does.
        from lambdalab.celery import app

        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge("sandbox")
    assert versions["1"] + versions["2"] == 1000
    # Binomial(1000, 0.1): mean 100, standard deviation 9.5; this is over four of them.
    assert 60 <= versions["2"] <= 140


def test_another_learner_cannot_reach_versions_or_aliases(lam, lambda_client_for, other_learner):
    two_versions(lam)
    lam.create_alias(FunctionName="hello", Name="live", FunctionVersion="1")
    theirs = lambda_client_for(other_learner)
    for call in (
        lambda: theirs.list_versions_by_function(FunctionName="hello"),
        lambda: theirs.publish_version(FunctionName="hello"),
        lambda: theirs.get_alias(FunctionName="hello", Name="live"),
        lambda: theirs.update_alias(FunctionName="hello", Name="live", FunctionVersion="2"),
        lambda: theirs.delete_alias(FunctionName="hello", Name="live"),
        lambda: theirs.invoke(FunctionName="hello:live", InvocationType="DryRun"),
        lambda: theirs.delete_function(FunctionName="hello", Qualifier="1"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert lam.get_alias(FunctionName="hello", Name="live")["FunctionVersion"] == "1"


def test_the_console_history_shows_the_version_that_ran(client, learner):
    from tests.sandbox.factories import FinishedInvocationFactory, FunctionFactory

    function = FunctionFactory(owner=learner)
    FinishedInvocationFactory(function=function)
    published = FinishedInvocationFactory(function=function)
    published.config = {**published.config, "version": "2"}
    published.save()
    client.force_login(learner)
    html = client.get(f"/sandbox/{function.pk}/invocations/").content.decode()
    assert "<td>2</td>" in html and "<td>$LATEST</td>" in html
