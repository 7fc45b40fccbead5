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


class EventInvokeConfig(TimeStampedModel):
    """How a function, version or alias handles asynchronous invocations (Lambda's
    FunctionEventInvokeConfig): retries after a function error, how old an event may grow
    before it is dropped, and where the record of the outcome goes."""

    function = models.ForeignKey(
        Function, on_delete=models.CASCADE, related_name="event_invoke_configs"
    )
    # "$LATEST", a published version's number or an alias name, as the caller's Qualifier.
    qualifier = models.CharField(max_length=128)
    maximum_retry_attempts = models.PositiveSmallIntegerField(default=2)
    maximum_event_age_s = models.PositiveIntegerField(default=21600)
    # Destination ARNs (a Lambda function of the same learner), or "".
    on_success = models.CharField(max_length=350, blank=True)
    on_failure = models.CharField(max_length=350, blank=True)

    class Meta:
        ordering = ["qualifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["function", "qualifier"], name="sandbox_api_event_config_qualifier"
            ),
            models.CheckConstraint(
                condition=Q(maximum_retry_attempts__lte=2), name="sandbox_api_event_config_retries"
            ),
            models.CheckConstraint(
                condition=Q(maximum_event_age_s__gte=60, maximum_event_age_s__lte=21600),
                name="sandbox_api_event_config_age",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.function}:{self.qualifier}"


class AsyncEvent(TimeStampedModel):
    """One asynchronous invocation (InvocationType Event) from its queueing to its outcome.

    Each attempt is a sandbox Invocation of the function, recorded like any other; this row
    holds what the attempts share: the event, the version chosen for it, how many times it
    ran, and where its record went.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"  # an attempt is queued, running or waiting for its retry
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Retries exhausted"
        EXPIRED = "expired", "Event age exceeded"

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="async_events")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    request_id = models.UUIDField(unique=True)
    # The Qualifier invoked ("$LATEST", a version or an alias: whose EventInvokeConfig
    # applies) and the version that runs (an alias picks it once; retries run the same).
    qualifier = models.CharField(max_length=128, default="$LATEST")
    executed_version = models.CharField(max_length=16, default="$LATEST")
    event = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    # Attempts that ran the handler; throttled attempts are retried without counting.
    invoke_count = models.PositiveIntegerField(default=0)
    throttles = models.PositiveIntegerField(default=0)
    current = models.ForeignKey(
        "sandbox.Invocation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.ManyToManyField("sandbox.Invocation", related_name="async_events")
    # How many destination hops led here: chains of destinations stop at DESTINATION_DEPTH, as
    # Lambda's recursive loop detection stops them.
    depth = models.PositiveSmallIntegerField(default=0)
    destination = models.CharField(max_length=350, blank=True)
    destination_note = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.function} event {self.request_id} ({self.status})"


class ProvisionedConcurrencyConfig(TimeStampedModel):
    """Provisioned concurrency of a published version or an alias (never $LATEST, as on AWS):
    environments kept initialised by the sandbox worker that owns the function."""

    class Status(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        READY = "READY", "Ready"
        FAILED = "FAILED", "Failed"

    function = models.ForeignKey(
        Function, on_delete=models.CASCADE, related_name="provisioned_configs"
    )
    # The Qualifier it was put on, and the version that holds the environments (an alias's).
    qualifier = models.CharField(max_length=128)
    version_number = models.PositiveIntegerField()
    requested = models.PositiveIntegerField()
    allocated = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    status_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["qualifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["function", "qualifier"], name="sandbox_api_provisioned_qualifier"
            ),
            models.UniqueConstraint(
                fields=["function", "version_number"], name="sandbox_api_provisioned_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.function}:{self.qualifier} x{self.requested}"


class FunctionUrlConfig(TimeStampedModel):
    """A function URL: an HTTP endpoint under the site, /lambda-url/<url_id>/, that invokes
    $LATEST or an alias with an API Gateway payload 2.0 event."""

    class AuthType(models.TextChoices):
        NONE = "NONE", "Public (the resource policy decides)"
        AWS_IAM = "AWS_IAM", "SigV4-signed with the owner's access keys"

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="url_configs")
    qualifier = models.CharField(max_length=128, default="$LATEST")
    url_id = models.CharField(max_length=32, unique=True)
    auth_type = models.CharField(max_length=8, choices=AuthType.choices)
    # Lambda's Cors structure as given (AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders,
    # MaxAge, AllowCredentials); {} for none.
    cors = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["qualifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["function", "qualifier"], name="sandbox_api_url_qualifier"
            )
        ]

    def __str__(self) -> str:
        return f"{self.function}:{self.qualifier} ({self.url_id})"


class PolicyStatement(TimeStampedModel):
    """One statement of a function's resource-based policy (AddPermission)."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="policy")
    # "" for the unqualified function ($LATEST), else a version or alias.
    qualifier = models.CharField(max_length=128, blank=True)
    sid = models.CharField(max_length=100)
    action = models.CharField(max_length=64)
    principal = models.CharField(max_length=256)
    source_arn = models.CharField(max_length=1024, blank=True)
    source_account = models.CharField(max_length=12, blank=True)
    function_url_auth_type = models.CharField(max_length=8, blank=True)
    invoked_via_function_url = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["function", "qualifier", "sid"], name="sandbox_api_policy_sid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.function}: {self.sid}"
