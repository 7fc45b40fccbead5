"""What the Lambda API stores beside the sandbox's own models: learners' access keys, published
versions and aliases."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from sandbox.models import Function, TimeStampedModel


class AccessKey(TimeStampedModel):
    """An access key pair for SigV4-signed API calls, as IAM issues them.

    The secret is kept as it is: verifying a SigV4 signature means computing it again with the
    secret (AWS keeps it the same way), so a one-way hash cannot work. It is shown only once.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys"
    )
    access_key_id = models.CharField(max_length=20, unique=True)
    secret = models.CharField(max_length=40)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.access_key_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class FunctionVersion(TimeStampedModel):
    """A published version: an immutable snapshot of a function's code and configuration."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    description = models.CharField(max_length=256, blank=True)
    # The FunctionSpec keyword arguments (code included) at publish time; see services.
    config = models.JSONField()
    code_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["function", "number"], name="sandbox_api_version_function_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.function}:{self.number}"


alias_name_validator = RegexValidator(
    r"^(?!^[0-9]+$)[A-Za-z0-9_-]{1,128}$",
    "Use 1-128 letters, digits, - or _ (not only digits).",
)


class Alias(TimeStampedModel):
    """A named pointer to a version, optionally sending a share of invocations to a second one."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=128, validators=[alias_name_validator])
    description = models.CharField(max_length=256, blank=True)
    # "$LATEST" or a published version's number, as text (Lambda's FunctionVersion).
    function_version = models.CharField(max_length=16)
    # {"<version>": weight between 0 and 1}: Lambda's RoutingConfig.AdditionalVersionWeights.
    additional_weights = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["function", "name"], name="sandbox_api_alias_name"),
            models.CheckConstraint(
                condition=~Q(name="$LATEST"), name="sandbox_api_alias_not_latest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.function}:{self.name}"
