"""Functions through boto3: create, read, list, update, delete, waiters and Lambda's errors."""

import io
import urllib.request
import zipfile

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.accounts import account_for
from sandbox.models import Function
from tests.sandbox.api.conftest import HELLO, create_hello, hello_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_then_get_a_function_and_wait_for_it(lam, learner):
    created = create_hello(
        lam,
        MemorySize=256,
        Timeout=5,
        Description="says hello",
        Environment={"Variables": {"GREETING": "hi"}},
        EphemeralStorage={"Size": 1024},
        Architectures=["arm64"],
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    account = account_for(learner)
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:{account}:function:hello"
    assert (created["MemorySize"], created["Timeout"], created["Architectures"]) == (
        256,
        5,
        ["arm64"],
    )
    assert created["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert created["EphemeralStorage"] == {"Size": 1024}
    assert created["Version"] == "$LATEST" and created["State"] == "Active"

    lam.get_waiter("function_active_v2").wait(FunctionName="hello")
    function = Function.objects.get(owner=learner, name="hello")
    assert function.files.get().content == HELLO

    got = lam.get_function(FunctionName="hello")
    assert got["Configuration"]["CodeSha256"] == created["CodeSha256"]
    # Code.Location is a signed URL of the zip, readable without credentials.
    with urllib.request.urlopen(got["Code"]["Location"]) as response:
        package = zipfile.ZipFile(io.BytesIO(response.read()))
    assert package.read("lambda_function.py").decode() == HELLO
    assert lam.get_function_configuration(FunctionName="hello")["Description"] == "says hello"


def test_update_configuration_and_code(lam):
    create_hello(lam)
    updated = lam.update_function_configuration(
        FunctionName="hello", MemorySize=512, Timeout=10, Environment={"Variables": {"A": "1"}}
    )
    assert (updated["MemorySize"], updated["Timeout"]) == (512, 10)
    assert updated["LastUpdateStatus"] == "Successful"
    lam.get_waiter("function_updated_v2").wait(FunctionName="hello")

    before = lam.get_function_configuration(FunctionName="hello")["CodeSha256"]
    new_source = "def lambda_handler(event, context):\n    return 2\n"
    after = lam.update_function_code(FunctionName="hello", ZipFile=hello_zip(new_source))
    assert after["CodeSha256"] != before and after["MemorySize"] == 512


def test_list_functions_pages_with_marker(lam):
    for n in range(5):
        create_hello(lam, name=f"fn-{n}")
    first = lam.list_functions(MaxItems=2)
    assert [f["FunctionName"] for f in first["Functions"]] == ["fn-0", "fn-1"]
    second = lam.list_functions(MaxItems=2, Marker=first["NextMarker"])
    assert [f["FunctionName"] for f in second["Functions"]] == ["fn-2", "fn-3"]

    pages = lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
    names = [f["FunctionName"] for page in pages for f in page["Functions"]]
    assert names == [f"fn-{n}" for n in range(5)]


def test_delete_function(lam):
    create_hello(lam)
    lam.delete_function(FunctionName="hello")
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        lam.get_function(FunctionName="hello")
    assert "Function not found" in str(excinfo.value)


def test_errors_use_lambdas_classes_and_codes(lam):
    create_hello(lam)
    with pytest.raises(lam.exceptions.ResourceConflictException):
        create_hello(lam)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.update_function_configuration(
            FunctionName="hello", MemorySize=256, Environment={"Variables": {"AWS_REGION": "x"}}
        )
    assert "AWS_REGION is reserved" in str(excinfo.value)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_code(FunctionName="hello", ZipFile=b"not a zip")
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        lam.delete_function(FunctionName="missing")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_function(
            FunctionName="no-code",
            Runtime="python3.11",
            Role="arn:aws:iam::123456789012:role/r",
            Handler="lambda_function.lambda_handler",
            Code={"S3Bucket": "my-bucket", "S3Key": "code.zip"},
        )
    # The failed update changed nothing.
    assert lam.get_function_configuration(FunctionName="hello")["MemorySize"] == 128


def test_revision_id_guards_updates(lam):
    create_hello(lam)
    revision = lam.get_function(FunctionName="hello")["Configuration"]["RevisionId"]
    lam.update_function_configuration(FunctionName="hello", Timeout=4, RevisionId=revision)
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_configuration(FunctionName="hello", Timeout=5, RevisionId=revision)


def test_concurrency_and_account_settings(lam):
    create_hello(lam)
    assert (
        lam.get_function_concurrency(FunctionName="hello").get("ReservedConcurrentExecutions")
        is None
    )
    put = lam.put_function_concurrency(FunctionName="hello", ReservedConcurrentExecutions=3)
    assert put["ReservedConcurrentExecutions"] == 3
    assert lam.get_function_concurrency(FunctionName="hello")["ReservedConcurrentExecutions"] == 3
    assert lam.get_function(FunctionName="hello")["Concurrency"] == {
        "ReservedConcurrentExecutions": 3
    }
    account = lam.get_account_settings()
    limit = account["AccountLimit"]["ConcurrentExecutions"]
    assert account["AccountLimit"]["UnreservedConcurrentExecutions"] == limit - 3
    assert account["AccountUsage"]["FunctionCount"] == 1
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_concurrency(FunctionName="hello", ReservedConcurrentExecutions=limit + 1)
    lam.delete_function_concurrency(FunctionName="hello")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="hello")


def test_a_learner_cannot_reach_anothers_function(lam, learner, lambda_client_for, other_learner):
    create_hello(lam)
    theirs = lambda_client_for(other_learner)
    assert theirs.list_functions()["Functions"] == []
    arn = f"arn:aws:lambda:us-east-1:{account_for(learner)}:function:hello"
    for call in (
        lambda: theirs.get_function(FunctionName="hello"),
        lambda: theirs.get_function_configuration(FunctionName=arn),
        lambda: theirs.update_function_configuration(FunctionName="hello", Timeout=9),
        lambda: theirs.update_function_code(FunctionName="hello", ZipFile=hello_zip()),
        lambda: theirs.put_function_concurrency(
            FunctionName="hello", ReservedConcurrentExecutions=0
        ),
        lambda: theirs.invoke(FunctionName="hello", Payload=b"{}"),
        lambda: theirs.invoke(FunctionName=arn, InvocationType="DryRun"),
        lambda: theirs.delete_function(FunctionName="hello"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    mine = lam.get_function_configuration(FunctionName="hello")
    assert mine["Timeout"] == 3
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="hello")
    # Creating the same name in one's own account is fine: names are per learner.
    assert create_hello(theirs)["FunctionName"] == "hello"
