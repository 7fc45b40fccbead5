"""The raw boto3 client of moto for one account, with nothing ensured first (sandbox.aws.clients
adds the re-creation of a lost account; sandbox.aws.rebuild, which does that, uses this)."""

from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings


class LabServicesUnavailable(RuntimeError):
    """The lab's services are not configured (LAB_SERVICES_URL is empty)."""


def moto_client(service: str, *, url: str, account_id: str) -> Any:
    """A boto3 client of `service` on the moto at url, in account_id."""
    client = boto3.client(
        service,
        endpoint_url=url,
        region_name=settings.LAB_REGION,
        aws_access_key_id="lab-console",
        aws_secret_access_key="lab-console",
        config=Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=2,
            read_timeout=30,
            s3={"addressing_style": "path"},
        ),
    )

    def name_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    client.meta.events.register("before-sign", name_account)
    return client
