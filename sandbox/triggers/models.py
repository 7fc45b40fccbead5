"""Triggers of learners' functions and the record of what triggered each invocation.

The resources themselves (queues, buckets, ...) live in the learner's account in the lab's
moto server; what is here is the wiring, so it survives a restart of the services.
"""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from sandbox.aws.selectors import RELAY_QUEUE_PREFIX
from sandbox.models import Function, Invocation, TimeStampedModel

# Lambda's limits for an SQS event source mapping.
SQS_BATCH_SIZE_MAX = 10_000
SQS_BATCH_SIZE_MAX_WITHOUT_WINDOW = 10
BATCHING_WINDOW_MAX_S = 300


class EventSourceMapping(TimeStampedModel):
    """An SQS queue polled for a function (Lambda's CreateEventSourceMapping)."""

    class State(models.TextChoices):
        CREATING = "Creating"
        ENABLING = "Enabling"
        ENABLED = "Enabled"
        DISABLING = "Disabling"
        DISABLED = "Disabled"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    function = models.ForeignKey(
        Function, on_delete=models.CASCADE, related_name="event_source_mappings"
    )
    # arn:aws:sqs:<region>:<the learner's lab account>:<queue name>
    event_source_arn = models.CharField(max_length=256)
    batch_size = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(SQS_BATCH_SIZE_MAX)]
    )
    maximum_batching_window_s = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(BATCHING_WINDOW_MAX_S)]
    )
    report_batch_item_failures = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.CREATING)
    state_reason = models.CharField(max_length=256, blank=True, default="")
    last_processing_result = models.CharField(
        max_length=64, blank=True, default="No records processed"
    )
    # DynamoDB streams: where reading starts, bisecting a failed batch, how often a failing
    # record is retried before it is skipped (-1: until it expires, as Lambda's default), and
    # the last sequence number processed per shard.
    starting_position = models.CharField(
        max_length=16,
        blank=True,
        choices=[("TRIM_HORIZON", "TRIM_HORIZON"), ("LATEST", "LATEST")],
    )
    bisect_batch_on_function_error = models.BooleanField(default=False)
    maximum_retry_attempts = models.IntegerField(
        default=-1, validators=[MinValueValidator(-1), MaxValueValidator(10_000)]
    )
    stream_position = models.JSONField(default=dict, blank=True)
    head_retries = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["function", "event_source_arn"], name="triggers_esm_function_source"
            ),
            models.CheckConstraint(
                condition=models.Q(maximum_batching_window_s__gt=0)
                | models.Q(batch_size__lte=SQS_BATCH_SIZE_MAX_WITHOUT_WINDOW)
                | ~models.Q(starting_position=""),
                name="triggers_esm_batch_over_10_needs_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.queue_name} → {self.function}"

    @property
    def queue_name(self) -> str:
        return self.event_source_arn.rsplit(":", 1)[-1]

    @property
    def source_name(self) -> str:
        """The queue's name, or the stream's table."""
        if self.event_source_arn.startswith("arn:aws:dynamodb:"):
            return self.event_source_arn.split("table/", 1)[-1].split("/", 1)[0]
        return self.queue_name

    @property
    def account_id(self) -> str:
        return self.event_source_arn.split(":")[4]

    @property
    def is_stream(self) -> bool:
        return self.event_source_arn.startswith("arn:aws:dynamodb:")


class TriggerKind(models.TextChoices):
    SQS = "sqs", "SQS"
    S3 = "s3", "S3"
    SNS = "sns", "SNS"
    EVENTBRIDGE = "events", "EventBridge rule"
    SCHEDULE = "schedule", "EventBridge schedule"
    DYNAMODB = "dynamodb", "DynamoDB stream"


LOOP_LIMIT = 16


class InvocationTrigger(TimeStampedModel):
    """What started an invocation that no one asked for directly: the trigger and its source."""

    invocation = models.OneToOneField(Invocation, on_delete=models.CASCADE, related_name="trigger")
    kind = models.CharField(max_length=10, choices=TriggerKind.choices)
    source_arn = models.CharField(max_length=256)
    mapping = models.ForeignKey(
        EventSourceMapping, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    records = models.PositiveIntegerField(default=1)
    # How each record ended: ids of the SQS messages deleted and of those left to come back.
    outcome = models.JSONField(default=dict, blank=True)
    # Rounds of a chain source → function → same source this invocation is (1: none before it);
    # past LOOP_LIMIT the invocation is not run (recursive loop detection, as Lambda does).
    depth = models.PositiveIntegerField(default=1)
    loop_stopped = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.source_arn}"

    @property
    def source_name(self) -> str:
        return self.source_arn.rsplit(":", 1)[-1]


S3_EVENTS = (
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
)


class Trigger(TimeStampedModel):
    """A trigger that pushes events to a function (an S3 notification, an SNS subscription, an
    EventBridge rule with an event pattern, an EventBridge schedule).

    The lab's services deliver them to a queue of the learner's account named after the
    trigger (RELAY_QUEUE_PREFIX), and a relay turns each message into an asynchronous invoke
    with the event Lambda would send: moto's S3, SNS and EventBridge deliver to SQS but not to
    our functions. Schedules are fired by Celery beat instead (moto runs no schedules).
    """

    RELAY_QUEUE_PREFIX = RELAY_QUEUE_PREFIX  # hidden from the Resources console

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="triggers")
    kind = models.CharField(max_length=10, choices=TriggerKind.choices)
    # arn:aws:s3:::<bucket> or arn:aws:sns:<region>:<account>:<topic>
    source_arn = models.CharField(max_length=256)
    account_id = models.CharField(max_length=12)
    events = models.JSONField(default=list, blank=True)
    prefix = models.CharField(max_length=256, blank=True)
    suffix = models.CharField(max_length=256, blank=True)
    subscription_arn = models.CharField(max_length=256, blank=True)
    # EventBridge: a rule's event pattern (JSON) on a bus, or a schedule and when it is next due.
    event_pattern = models.TextField(blank=True)
    bus_name = models.CharField(max_length=256, blank=True)
    schedule_expression = models.CharField(max_length=256, blank=True)
    next_due = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.source_name} → {self.function}"

    @property
    def source_name(self) -> str:
        return self.source_arn.rsplit(":", 1)[-1]

    @property
    def relay_queue(self) -> str:
        return f"{self.RELAY_QUEUE_PREFIX}{self.pk}"

    @property
    def configuration_id(self) -> str:
        return f"lambdalab-{self.pk}"
