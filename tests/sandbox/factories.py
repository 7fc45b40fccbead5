import factory

from sandbox import catalog
from sandbox.models import Experiment, Function, FunctionFile, Invocation, TestEvent
from tests.factories import UserFactory

HELLO = 'def lambda_handler(event, context):\n    return {"hello": event.get("name", "world")}\n'


class FunctionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Function
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"function-{n}")
    handler = catalog.HANDLER

    @factory.post_generation
    def code(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create:
            FunctionFile.objects.create(
                function=self, path=catalog.HANDLER_FILE, content=extracted or HELLO
            )


class TestEventFactory(factory.django.DjangoModelFactory):
    __test__ = False

    class Meta:
        model = TestEvent

    function = factory.SubFactory(FunctionFactory)
    name = factory.Sequence(lambda n: f"event-{n}")
    body = '{"name": "Ada"}'


class InvocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invocation

    function = factory.SubFactory(FunctionFactory)
    requested_by = factory.LazyAttribute(lambda invocation: invocation.function.owner)
    event = "{}"
    namespace = factory.LazyAttribute(lambda invocation: invocation.function.namespace)
    config = factory.LazyAttribute(
        lambda invocation: {
            "name": invocation.function.name,
            "handler": catalog.HANDLER,
            "code": {catalog.HANDLER_FILE: HELLO},
            "memory_mb": 128,
            "timeout_s": 3,
            "namespace": invocation.function.namespace,
        }
    )


class FinishedInvocationFactory(InvocationFactory):
    status = Invocation.Status.SUCCESS
    request_id = factory.Sequence(lambda n: f"00000000-0000-0000-0000-{n:012d}")
    payload = {"hello": "world"}
    log = "START RequestId: x Version: $LATEST\nEND RequestId: x\nREPORT RequestId: x\n"
    duration_ms = 12.34
    billed_duration_ms = 13
    billed_duration_with_init_ms = 13
    max_memory_used_mb = 40
    memory_size_mb = 128
    cold_start = False
    environment_id = "abc123"
    invoke_started_at = 1_700_000_000.0
    invoke_ended_at = 1_700_000_000.012


class ExperimentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Experiment

    function = factory.SubFactory(FunctionFactory)
    kind = Experiment.Kind.BURST
    event = "{}"
