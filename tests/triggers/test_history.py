"""The console's history says which trigger started an invocation."""

import pytest
from django.urls import reverse

from sandbox.triggers.models import InvocationTrigger, TriggerKind
from tests.sandbox.factories import FinishedInvocationFactory, FunctionFactory

pytestmark = pytest.mark.django_db

ARN = "arn:aws:sqs:us-east-1:210987654321:jobs"


def test_history_names_the_trigger_and_filters_by_it(client):
    function = FunctionFactory()
    client.force_login(function.owner)
    console = FinishedInvocationFactory(function=function)
    triggered = FinishedInvocationFactory(function=function)
    InvocationTrigger.objects.create(
        invocation=triggered, kind=TriggerKind.SQS, source_arn=ARN, records=3
    )
    url = reverse("sandbox:invocation_list", args=[function.pk])
    html = client.get(url).content.decode()
    row = html.split(f"#{triggered.pk}<", 1)[1].split("</tr>", 1)[0]
    assert "SQS" in row and ARN in row
    console_row = html.split(f"#{console.pk}<", 1)[1].split("</tr>", 1)[0]
    assert "Console or API" in console_row
    only_triggers = client.get(url, {"source": "trigger"}).content.decode()
    assert f"#{triggered.pk}<" in only_triggers and f"#{console.pk}<" not in only_triggers
    only_console = client.get(url, {"source": "console"}).content.decode()
    assert f"#{console.pk}<" in only_console and f"#{triggered.pk}<" not in only_console


def test_an_invocation_says_which_trigger_started_it(client):
    function = FunctionFactory()
    client.force_login(function.owner)
    triggered = FinishedInvocationFactory(function=function)
    InvocationTrigger.objects.create(
        invocation=triggered,
        kind=TriggerKind.SQS,
        source_arn=ARN,
        records=3,
        depth=2,
        outcome={"deleted": ["a", "b"], "failed": ["c"]},
    )
    html = client.get(triggered.get_absolute_url()).content.decode()
    line = html.split("data-trigger", 1)[1].split("</p>", 1)[0]
    assert "SQS" in line and ARN in line and "3 records" in line and "round 2" in line
    assert "1 message left on the queue" in line
    plain = client.get(FinishedInvocationFactory(function=function).get_absolute_url())
    assert "data-trigger" not in plain.content.decode()
