"""The lab's record of each learner's AWS account; moto keeps the resources themselves."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from sandbox.models import TimeStampedModel


class LabAccount(TimeStampedModel):
    """A learner's AWS account in the lab: moto keys all its state by this account id.

    The id is drawn at random rather than from the user's primary key, so a key reused after a
    deletion (or a rolled-back test) never lands on resources someone else left in moto.
    """

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_account"
    )
    account_id = models.CharField(
        max_length=12,
        unique=True,
        validators=[RegexValidator(r"^[1-9][0-9]{11}$", "An AWS account id is 12 digits.")],
    )

    def __str__(self) -> str:
        return self.account_id
