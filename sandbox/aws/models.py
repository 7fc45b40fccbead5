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
    # The moto process this account's recorded configuration was last re-created in (see
    # sandbox.aws.rebuild); a different one means moto restarted and it must be made again.
    moto_generation = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return self.account_id


role_name_validator = RegexValidator(
    r"^[\w+=,.@-]{1,64}$", "Use 1-64 letters, digits or +=,.@_- as IAM does."
)

LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def lambda_trust_policy() -> dict[str, object]:
    return dict(LAMBDA_TRUST_POLICY)


class ExecutionRole(TimeStampedModel):
    """A learner's IAM role in their lab account; functions run with its inline policies.

    Our copy is what the gateway authorises against and what is re-created in moto after it
    restarts; moto holds the same role so IAM's own API (GetRole, ListRolePolicies) answers.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_roles"
    )
    name = models.CharField(max_length=64, validators=[role_name_validator])
    description = models.CharField(max_length=1000, blank=True)
    trust_policy = models.JSONField(default=lambda_trust_policy)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="sandbox_aws_role_owner_name")
        ]

    def __str__(self) -> str:
        return self.name


class RolePolicy(TimeStampedModel):
    """An inline policy of a role (IAM's PutRolePolicy)."""

    role = models.ForeignKey(ExecutionRole, on_delete=models.CASCADE, related_name="policies")
    name = models.CharField(max_length=128, validators=[role_name_validator])
    document = models.JSONField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["role", "name"], name="sandbox_aws_policy_role_name")
        ]

    def __str__(self) -> str:
        return f"{self.role}/{self.name}"


class FunctionRole(TimeStampedModel):
    """Which execution role a function runs with (Lambda's Role)."""

    function = models.OneToOneField(
        "sandbox.Function", on_delete=models.CASCADE, related_name="execution_role"
    )
    role = models.ForeignKey(ExecutionRole, on_delete=models.CASCADE, related_name="functions")

    def __str__(self) -> str:
        return f"{self.function} -> {self.role}"


class ResourceKind(models.TextChoices):
    BUCKET = "bucket", "S3 bucket"
    TABLE = "table", "DynamoDB table"
    QUEUE = "queue", "SQS queue"
    TOPIC = "topic", "SNS topic"
    SUBSCRIPTION = "subscription", "SNS subscription"


class LabResource(TimeStampedModel):
    """A learner's bucket, table, queue, topic or subscription: what was asked for when it was
    made (spec, in the API's own parameter names), so it can be made again in a fresh moto.
    Object and item contents are not kept: they live as long as the moto process."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_resources"
    )
    kind = models.CharField(max_length=16, choices=ResourceKind.choices)
    # Bucket, table, queue or topic name; a subscription's "topic name|protocol|endpoint".
    name = models.CharField(max_length=1024)
    spec = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "kind", "name"], name="sandbox_aws_resource_owner_kind_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"
