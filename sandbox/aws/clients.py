"""boto3 clients of the lab's services for the site's own use (console, triggers).

They talk straight to moto on its private loopback port and name the learner's account with
moto's `x-moto-account-id` header; learners' and handlers' requests never take this path.
"""

from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings


class LabServicesUnavailable(RuntimeError):
    """The lab's services are not configured (LAB_SERVICES_URL is empty)."""


def lab_client(service: str, *, account_id: str, ensure: bool = True) -> Any:
    """A boto3 client of `service` in the learner's account.

    With ensure (the default), an account whose configuration a restarted moto lost is made
    again first (sandbox.aws.rebuild); the rebuild itself passes ensure=False.
    """
    url = settings.LAB_SERVICES_URL
    if not url:
        raise LabServicesUnavailable("The lab's AWS services are not running (LAB_SERVICES_URL).")
    if ensure:
        from sandbox.aws.rebuild import account_ensure

        account_ensure(account_id=account_id, url=url)
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
