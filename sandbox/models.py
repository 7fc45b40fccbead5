"""What the sandbox stores: learners' functions, their code and test events, and invocations.

Every figure an invocation shows (durations, memory, cold start, environment) is copied from the
engine's InvocationResult; nothing here computes timing.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from sandbox.engine import report
from sandbox.engine.spec import (
    EPHEMERAL_MAX_MB,
    EPHEMERAL_MIN_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
)


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Runtime(models.TextChoices):
    PYTHON311 = "python3.11", "Python 3.11"
    NODEJS24 = "nodejs24.x", "Node.js 24"


class Architecture(models.TextChoices):
    X86_64 = "x86_64", "x86_64"
    ARM64 = "arm64", "arm64"


function_name_validator = RegexValidator(
    r"^[A-Za-z0-9_-]{1,64}$",
    "Use 1-64 letters, digits, hyphens or underscores, as Lambda does.",
)
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
handler_validator = RegexValidator(
    rf"^{_IDENT}(?:[./]{_IDENT})*\.{_IDENT}$",
    "A handler looks like file.function, e.g. lambda_function.lambda_handler.",
)


class Function(TimeStampedModel):
    """A learner's Lambda function: configuration here, code in FunctionFile rows."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_functions"
    )
    name = models.CharField(max_length=64, validators=[function_name_validator])
    description = models.CharField(max_length=256, blank=True)
    runtime = models.CharField(max_length=20, choices=Runtime.choices, default=Runtime.PYTHON311)
    handler = models.CharField(
        max_length=128, default="lambda_function.lambda_handler", validators=[handler_validator]
    )
    memory_mb = models.PositiveIntegerField(
        default=128, validators=[MinValueValidator(MEMORY_MIN_MB), MaxValueValidator(MEMORY_MAX_MB)]
    )
    timeout_s = models.PositiveIntegerField(
        default=3, validators=[MinValueValidator(TIMEOUT_MIN_S), MaxValueValidator(TIMEOUT_MAX_S)]
    )
    ephemeral_storage_mb = models.PositiveIntegerField(
        default=512,
        validators=[MinValueValidator(EPHEMERAL_MIN_MB), MaxValueValidator(EPHEMERAL_MAX_MB)],
    )
    architecture = models.CharField(
        max_length=10, choices=Architecture.choices, default=Architecture.X86_64
    )
    environment = models.JSONField(default=dict, blank=True)
    reserved_concurrency = models.PositiveIntegerField(null=True, blank=True)
    provisioned_concurrency = models.PositiveIntegerField(default=0)
    # Bumped by "force a cold start": passed to the function as LAMBDALAB_DEPLOYMENT, the same
    # trick people use on Lambda (changing configuration retires the warm environments).
    deployment = models.PositiveIntegerField(default=0)
    blueprint = models.CharField(max_length=40, blank=True)
    lesson_slug = models.SlugField(blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="sandbox_function_owner_name"),
            models.CheckConstraint(
                condition=Q(reserved_concurrency__isnull=True)
                | Q(provisioned_concurrency__lte=models.F("reserved_concurrency")),
                name="sandbox_function_provisioned_within_reserved",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sandbox:function_detail", kwargs={"pk": self.pk})

    @property
    def namespace(self) -> str:
        """The engine's tenant key: warm environments are only reused within it."""
        return f"user-{self.owner_id}/fn-{self.pk}"


class FunctionFile(TimeStampedModel):
    """One file of a function's deployment package (the editor edits these)."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=200)
    content = models.TextField(blank=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["function", "path"], name="sandbox_file_function_path")
        ]

    def __str__(self) -> str:
        return self.path


class TestEvent(TimeStampedModel):
    """A named, saved test event of a function (like the Lambda console's)."""

    __test__ = False  # not a pytest test class, whatever its name says

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="test_events")
    name = models.CharField(max_length=64)
    body = models.TextField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["function", "name"], name="sandbox_event_function_name")
        ]

    def __str__(self) -> str:
        return self.name


class Experiment(TimeStampedModel):
    """A group of invocations run together: a concurrency-lab burst or a memory-tuning run."""

    class Kind(models.TextChoices):
        BURST = "burst", "Concurrency lab"
        TUNING = "tuning", "Memory tuning"

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="experiments")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    event = models.TextField()
    # Burst: how many at once. Tuning: the memory sizes and the runs per size.
    size = models.PositiveIntegerField(default=1)
    memory_sizes = models.JSONField(default=list, blank=True)
    runs_per_size = models.PositiveIntegerField(default=1)
    # Who runs it ("worker-hostname#pid"), so that a task Celery hands out again while the
    # first run goes on (past the broker's visibility timeout) is not run a second time.
    runner = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Invocation(TimeStampedModel):
    """One invocation: what was asked (event and a snapshot of the function) and what happened."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCESS = "success", "Succeeded"
        ERROR = "error", "Function error"
        TIMEOUT = "timeout", "Timed out"
        OUT_OF_MEMORY = "out_of_memory", "Out of memory"
        CRASH = "crash", "Runtime exited"
        THROTTLED = "throttled", "Throttled"
        FAILED = "failed", "Not run"  # the sandbox itself failed; see failure_reason
        STOPPED = "stopped", "Stopped by an instructor"  # queued or running; see failure_reason

    PENDING = (Status.QUEUED, Status.RUNNING)

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="invocations")
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, null=True, blank=True, related_name="invocations"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    event = models.TextField()
    # What ran: code and configuration copied at invoke time, so later edits change nothing.
    config = models.JSONField(default=dict)
    # What the caller invoked through: an alias, a version or "$LATEST" ("": unqualified). The
    # handler's context.invoked_function_arn ends with it; config holds the version it ran.
    qualifier = models.CharField(max_length=128, blank=True)
    namespace = models.CharField(max_length=256)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    failure_reason = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Copied from the engine's InvocationResult.
    request_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    log = models.TextField(blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    billed_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    billed_duration_with_init_ms = models.PositiveIntegerField(null=True, blank=True)
    init_duration_ms = models.FloatField(null=True, blank=True)
    max_memory_used_mb = models.PositiveIntegerField(null=True, blank=True)
    memory_size_mb = models.PositiveIntegerField(null=True, blank=True)
    cold_start = models.BooleanField(null=True, blank=True)
    environment_id = models.CharField(max_length=64, blank=True)
    # Wall-clock epoch seconds from the engine, for the concurrency timeline.
    invoke_started_at = models.FloatField(null=True, blank=True)
    invoke_ended_at = models.FloatField(null=True, blank=True)
    init_started_at = models.FloatField(null=True, blank=True)
    init_ended_at = models.FloatField(null=True, blank=True)
    # The AWS calls the handler made through the lab's gateway, oldest first, as the engine
    # recorded them (service, operation, action, resource, outcome, status, duration_ms,
    # offset_ms, message): the invocation page draws them as a trace.
    service_calls = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["function", "-created_at"], name="sandbox_inv_function_recent"),
            models.Index(fields=["status", "started_at"], name="sandbox_inv_status_started"),
        ]

    def __str__(self) -> str:
        return f"{self.function} #{self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse(
            "sandbox:invocation_detail",
            kwargs={"pk": self.function_id, "invocation_pk": self.pk},
        )

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING

    @property
    def billed_duration_before_aug_2025_ms(self) -> int | None:
        """What AWS billed until 1 Aug 2025, INIT free: the duration rounded up to 1 ms."""
        if self.duration_ms is None:
            return None
        return report.billed_ms(self.duration_ms)

    @property
    def is_throttled(self) -> bool:
        return self.status == self.Status.THROTTLED
