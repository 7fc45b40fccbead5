"""boto3 clients of the lab's services for the site's own use (console, triggers).

They talk straight to moto on its private loopback port and name the learner's account with
moto's `x-moto-account-id` header; learners' and handlers' requests never take this path.
"""

from typing import Any

from django.conf import settings

from sandbox.aws.connection import LabServicesUnavailable, moto_client
from sandbox.aws.rebuild import account_ensure

__all__ = ["LabServicesUnavailable", "lab_client"]


def lab_client(service: str, *, account_id: str, ensure: bool = True) -> Any:
    """A boto3 client of `service` in the learner's account.

    With ensure (the default), an account whose configuration a restarted moto lost is made
    again first (sandbox.aws.rebuild); ensure=False looks at what moto holds as it is.
    """
    url = settings.LAB_SERVICES_URL
    if not url:
        raise LabServicesUnavailable("The lab's AWS services are not running (LAB_SERVICES_URL).")
    if ensure:
        account_ensure(account_id=account_id, url=url)
    return moto_client(service, url=url, account_id=account_id)
