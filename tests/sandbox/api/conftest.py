"""boto3 clients against the Django live server, signed with learners' own access keys."""

import io
import zipfile
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from django.contrib.auth.models import User

from sandbox.api import services
from tests.factories import UserFactory

HELLO = (
    "def lambda_handler(event, context):\n"
    "    print('hello from', context.function_name)\n"
    "    return {'hello': event.get('name', 'world')}\n"
)

LambdaClientFor = Callable[..., Any]


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return buffer.getvalue()


def hello_zip(source: str = HELLO) -> bytes:
    return zip_of({"lambda_function.py": source})


@pytest.fixture
def lambda_client_for(live_server: Any) -> LambdaClientFor:
    """lambda_client_for(user) is a boto3 Lambda client with a new access key of user's.

    Retries are off so a throttle or error reaches the test as the first answer did.
    """

    def make(user: User, *, secret: str | None = None, **config: Any) -> Any:
        key, real_secret = services.access_key_create(owner=user)
        client = boto3.client(
            "lambda",
            endpoint_url=live_server.url,
            region_name="us-east-1",
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=secret or real_secret,
            config=Config(retries={"total_max_attempts": 1}, **config),
        )
        client.access_key = key
        return client

    return make


@pytest.fixture
def lam(lambda_client_for: LambdaClientFor, learner: User) -> Any:
    return lambda_client_for(learner)


@pytest.fixture
def other_learner(transactional_db: None) -> User:
    return UserFactory()


def create_hello(client: Any, name: str = "hello", source: str = HELLO, **kwargs: Any) -> Any:
    return client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role="arn:aws:iam::123456789012:role/lambda-role",
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": hello_zip(source)},
        **kwargs,
    )
