"""Each learner is a separate AWS account in the lab."""

import secrets

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from sandbox.aws.models import LabAccount

# moto's default account: requests that name no account land there, so no learner gets it.
MOTO_DEFAULT_ACCOUNT = "123456789012"


def new_account_id() -> str:
    while True:
        candidate = str(secrets.randbelow(9 * 10**11) + 10**11)
        if candidate != MOTO_DEFAULT_ACCOUNT:
            return candidate


def account_for(user: User) -> str:
    """The learner's lab account id, made on first use."""
    existing = LabAccount.objects.filter(owner=user).values_list("account_id", flat=True).first()
    if existing:
        return existing
    for _ in range(5):
        try:
            with transaction.atomic():
                return LabAccount.objects.create(owner=user, account_id=new_account_id()).account_id
        except IntegrityError:
            # Another request made this learner's account first, or the id was taken.
            existing = (
                LabAccount.objects.filter(owner=user).values_list("account_id", flat=True).first()
            )
            if existing:
                return existing
    raise RuntimeError("could not allocate a lab account id")
