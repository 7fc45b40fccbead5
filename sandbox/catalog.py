"""Fixed content of the console: function blueprints, sample events and configuration help.

Blueprint sources live in sandbox/blueprints/*.py (linted like the rest of the code), and their
nodejs24.x twins in sandbox/blueprints/node/*.mjs; sample events in sandbox/events/*.json. All
are read once and cached.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
HANDLER_FILE = "lambda_function.py"
HANDLER = "lambda_function.lambda_handler"
# What the Lambda console creates for a Node.js function.
NODE_HANDLER_FILE = "index.mjs"
NODE_HANDLER = "index.handler"
NODE_RUNTIMES = frozenset({"nodejs24.x"})


def handler_file(runtime: str) -> str:
    """The file a new function of this runtime starts with."""
    return NODE_HANDLER_FILE if runtime in NODE_RUNTIMES else HANDLER_FILE


def default_handler(runtime: str) -> str:
    """The handler setting a new function of this runtime starts with."""
    return NODE_HANDLER if runtime in NODE_RUNTIMES else HANDLER


@dataclass(frozen=True)
class SampleEvent:
    key: str
    title: str
    filename: str

    @property
    def body(self) -> str:
        return _read(HERE / "events" / self.filename)


@dataclass(frozen=True)
class Blueprint:
    key: str
    title: str
    description: str
    source_file: str
    event_key: str
    lesson_slug: str
    memory_mb: int = 128
    timeout_s: int = 3

    @property
    def source(self) -> str:
        # The first line of each blueprint silences mypy's annotation check: learners write
        # Lambda handlers untyped, as AWS's own examples do, and should not see the pragma.
        lines = _read(HERE / "blueprints" / self.source_file).splitlines(keepends=True)
        return "".join(line for line in lines if not line.startswith("# mypy:"))

    def source_for(self, runtime: str) -> str:
        """The blueprint's code in the runtime's language (the same behaviour in both)."""
        if runtime in NODE_RUNTIMES:
            return _read(HERE / "blueprints" / "node" / self.source_file.replace(".py", ".mjs"))
        return self.source

    @property
    def event(self) -> SampleEvent:
        return SAMPLE_EVENTS[self.event_key]


SAMPLE_EVENTS: dict[str, SampleEvent] = {
    event.key: event
    for event in (
        SampleEvent("hello", "Hello world (key1, key2, key3)", "hello.json"),
        SampleEvent("apigateway-rest", "API Gateway REST API (v1 proxy)", "apigateway-rest.json"),
        SampleEvent("apigateway-http", "API Gateway HTTP API (v2)", "apigateway-http.json"),
        SampleEvent("s3-put", "S3 put (ObjectCreated)", "s3-put.json"),
        SampleEvent("sqs", "SQS batch of two messages", "sqs.json"),
        SampleEvent("sns", "SNS notification", "sns.json"),
        SampleEvent("eventbridge-schedule", "EventBridge schedule", "eventbridge-schedule.json"),
        SampleEvent("dynamodb-stream", "DynamoDB stream INSERT", "dynamodb-stream.json"),
    )
}

BLUEPRINTS: dict[str, Blueprint] = {
    blueprint.key: blueprint
    for blueprint in (
        Blueprint(
            "blank",
            "Author from scratch",
            "A handler that returns a fixed response.",
            "blank.py",
            "hello",
            "handlers-and-runtimes",
        ),
        Blueprint(
            "hello-world",
            "Hello world",
            "Logs the event and the context object, returns a greeting.",
            "hello_world.py",
            "hello",
            "what-is-lambda",
        ),
        Blueprint(
            "api-json",
            "API Gateway JSON API",
            "A proxy-integration handler returning statusCode, headers and a JSON body.",
            "api_json.py",
            "apigateway-rest",
            "api-gateway",
        ),
        Blueprint(
            "s3-processing",
            "S3 file processing in /tmp",
            "Thumbnail-style processing: writes to /tmp, which survives warm invocations.",
            "s3_processing.py",
            "s3-put",
            "limits",
            memory_mb=256,
            timeout_s=10,
        ),
        Blueprint(
            "sqs-batch",
            "SQS batch with partial failures",
            "Processes each message and reports only the failed ones (batchItemFailures).",
            "sqs_batch.py",
            "sqs",
            "errors-and-retries",
        ),
        Blueprint(
            "scheduled-job",
            "Scheduled job",
            "Runs on an EventBridge schedule and logs what it did.",
            "scheduled_job.py",
            "eventbridge-schedule",
            "event-driven-model",
        ),
        Blueprint(
            "init-outside-handler",
            "Init outside the handler (cold-start demo)",
            "Heavy work at module level: paid once per environment, in Init Duration.",
            "init_outside_handler.py",
            "hello",
            "cold-starts",
            timeout_s=10,
        ),
    )
}

# Which blueprint a lesson's "Try it" link opens when it names no blueprint of its own.
LESSON_BLUEPRINTS: dict[str, str] = {
    "what-is-lambda": "hello-world",
    "event-driven-model": "scheduled-job",
    "handlers-and-runtimes": "hello-world",
    "execution-environment": "s3-processing",
    "cold-starts": "init-outside-handler",
    "scaling-and-concurrency": "hello-world",
    "limits": "s3-processing",
    "pricing": "init-outside-handler",
    "permissions": "hello-world",
    "api-gateway": "api-json",
    "use-cases": "sqs-batch",
    "errors-and-retries": "sqs-batch",
    "observability": "hello-world",
}


@dataclass(frozen=True)
class FieldHelp:
    text: str
    lesson_slug: str


# One line per setting, shown next to the form field, with the lesson that explains it.
CONFIG_HELP: dict[str, FieldHelp] = {
    "name": FieldHelp(
        "Unique among your functions; shown as function_name in the context.", "what-is-lambda"
    ),
    "runtime": FieldHelp(
        "The language and version Lambda starts your code with.", "handlers-and-runtimes"
    ),
    "handler": FieldHelp(
        "file.function Lambda calls for each event: lambda_function.lambda_handler (Python), "
        "index.handler (Node.js).",
        "handlers-and-runtimes",
    ),
    "memory_mb": FieldHelp(
        "128-10,240 MB. CPU scales with memory (1,769 MB = 1 vCPU); you pay per GB-second.",
        "pricing",
    ),
    "timeout_s": FieldHelp(
        "1-900 s. Past it the invocation is stopped and the environment discarded.", "limits"
    ),
    "ephemeral_storage_mb": FieldHelp(
        "Size of /tmp, 512-10,240 MB, kept between warm invocations of one environment.",
        "execution-environment",
    ),
    "architecture": FieldHelp(
        "x86_64 or arm64 (Graviton); arm64 costs about 20% less per GB-second.", "pricing"
    ),
    "environment": FieldHelp(
        "Environment variables, one NAME=value per line; 4 KB in total.", "handlers-and-runtimes"
    ),
    "reserved_concurrency": FieldHelp(
        "Guarantees and caps this function's concurrent executions; blank for none, 0 stops it.",
        "scaling-and-concurrency",
    ),
    "provisioned_concurrency": FieldHelp(
        "Environments initialised ahead of time: no cold start for that many at once.",
        "cold-starts",
    ),
}


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
