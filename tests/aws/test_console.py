"""The Resources console (sandbox/aws/views.py, services.py, selectors.py) through the test
client, against the real moto server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from sandbox.aws import roles
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import lab_client
from sandbox.aws.models import ExecutionRole, LabResource
from sandbox.services import function_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner(client: Client, moto_server: str) -> Any:
    user = UserFactory()
    client.force_login(user)
    return user


def test_the_page_says_contents_live_as_long_as_the_services(client: Client, learner: Any) -> None:
    page = client.get(reverse("sandbox_aws:resources"))
    assert page.status_code == 200
    assert b"live only as long as the services process runs" in page.content
    assert account_for(learner).encode() in page.content


def test_a_bucket_upload_download_and_delete(client: Client, learner: Any) -> None:
    bucket = f"files-{account_for(learner)}"
    client.post(reverse("sandbox_aws:bucket_create"), {"name": bucket})
    assert LabResource.objects.filter(owner=learner, kind="bucket", name=bucket).exists()
    upload = SimpleUploadedFile("cat.txt", b"meow", content_type="text/plain")
    # The upload script's XHR says HX-Request and gets the object list back.
    answer = client.post(
        reverse("sandbox_aws:object_upload", args=[bucket]),
        {"file": upload, "prefix": "in/"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200 and b"in/cat.txt" in answer.content
    assert b"<html" not in answer.content
    download = client.get(reverse("sandbox_aws:object", args=[bucket]), {"key": "in/cat.txt"})
    assert b"".join(download.streaming_content) == b"meow"
    assert download["Content-Length"] == "4"
    assert 'filename="cat.txt"' in download["Content-Disposition"]
    client.post(reverse("sandbox_aws:object_delete", args=[bucket]), {"key": "in/cat.txt"})
    assert (
        b"The bucket is empty" in client.get(reverse("sandbox_aws:bucket", args=[bucket])).content
    )


def test_another_learners_bucket_is_not_found(client: Client, learner: Any) -> None:
    other = UserFactory()
    theirs = f"theirs-{account_for(other)}"
    lab_client("s3", account_id=account_for(other)).create_bucket(Bucket=theirs)
    assert client.get(reverse("sandbox_aws:bucket", args=[theirs])).status_code == 404
    assert client.get(reverse("sandbox_aws:object", args=[theirs]), {"key": "x"}).status_code == 404


def test_table_items_put_edit_and_delete(client: Client, learner: Any) -> None:
    client.post(
        reverse("sandbox_aws:table_create"),
        {"name": "Notes", "partition_key": "id", "partition_type": "S", "stream_view": "NEW_IMAGE"},
    )
    spec = LabResource.objects.get(owner=learner, kind="table", name="Notes").spec
    assert spec["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    url = reverse("sandbox_aws:item_put", args=["Notes"])
    client.post(url, {"item": json.dumps({"id": "1", "text": "hi", "n": 2.5})})
    client.post(url, {"item": json.dumps({"id": "1", "text": "edited", "n": 3})})
    page = client.get(reverse("sandbox_aws:table", args=["Notes"]))
    assert b"edited" in page.content and b"NEW_IMAGE" in page.content
    bad = client.post(url, {"item": "not json"}, follow=True)
    assert b"The item is not JSON" in bad.content
    client.post(reverse("sandbox_aws:item_delete", args=["Notes"]), {"key": '{"id": "1"}'})
    assert b"No items yet" in client.get(reverse("sandbox_aws:table", args=["Notes"])).content


def test_a_queue_with_a_dead_letter_queue_send_and_redrive(client: Client, learner: Any) -> None:
    client.post(
        reverse("sandbox_aws:queue_create"),
        {"name": "orders", "dead_letter_queue": "orders-dlq", "max_receive_count": "2"},
    )
    client.post(reverse("sandbox_aws:message_send", args=["orders-dlq"]), {"body": "failed job"})
    page = client.get(reverse("sandbox_aws:queue", args=["orders"]))
    assert b"orders-dlq" in page.content and b"after 2 receives" in page.content
    dlq_page = client.get(reverse("sandbox_aws:queue", args=["orders-dlq"]))
    assert b"Redrive messages to orders" in dlq_page.content
    done = client.post(reverse("sandbox_aws:queue_redrive", args=["orders-dlq"]), follow=True)
    assert b"Moved 1 messages back" in done.content
    sqs = lab_client("sqs", account_id=account_for(learner))
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "failed job"
    counts = client.get(reverse("sandbox_aws:queue", args=["orders"]), HTTP_HX_REQUEST="true")
    assert b'id="counts"' in counts.content and b"<html" not in counts.content
    assert b"In flight" in counts.content


def test_a_topic_is_published_to(client: Client, learner: Any) -> None:
    client.post(reverse("sandbox_aws:topic_create"), {"name": "news"})
    done = client.post(
        reverse("sandbox_aws:topic_publish", args=["news"]), {"message": "hello"}, follow=True
    )
    assert b"Published to news" in done.content


def test_the_role_editor_applies_a_template_and_fixes_access(client: Client, learner: Any) -> None:
    function = function_create(owner=learner, name="writer")
    client.post(reverse("sandbox_aws:role_create"), {"name": "writer-role"})
    role = ExecutionRole.objects.get(owner=learner, name="writer-role")
    client.post(reverse("sandbox_aws:role_assign", args=["writer-role"]), {"function": function.pk})
    assert roles.function_role(function) == role
    needs_name = client.post(
        reverse("sandbox_aws:role_template", args=["writer-role"]),
        {"template": "dynamodb-crud"},
        follow=True,
    )
    assert b"needs the table" in needs_name.content
    client.post(
        reverse("sandbox_aws:role_template", args=["writer-role"]),
        {"template": "dynamodb-crud", "resource": "Orders"},
    )
    document = role.policies.get().document
    assert document["Statement"][0]["Resource"][0].endswith(f"{account_for(learner)}:table/Orders")
    iam = lab_client("iam", account_id=account_for(learner))
    assert iam.list_role_policies(RoleName="writer-role")["PolicyNames"] == ["dynamodb-crud-Orders"]
    # A second template adds its policy beside the first, as IAM's "Add permissions" does;
    # the same one again replaces its own.
    for resource in ("photos", "photos"):
        client.post(
            reverse("sandbox_aws:role_template", args=["writer-role"]),
            {"template": "s3-read", "resource": resource},
        )
    assert sorted(role.policies.values_list("name", flat=True)) == [
        "dynamodb-crud-Orders",
        "s3-read-photos",
    ]
    page = client.get(reverse("sandbox_aws:role", args=["writer-role"]))
    assert b"dynamodb:PutItem" in page.content and b"writer" in page.content
    bad = client.post(
        reverse("sandbox_aws:role_policy", args=["writer-role"]),
        {"policy_name": "broken", "document": '{"Statement": []}'},
        follow=True,
    )
    assert b"MalformedPolicyDocument" in bad.content
    client.post(reverse("sandbox_aws:role_template", args=["writer-role"]), {"template": "none"})
    assert role.policies.count() == 0
    assert iam.list_role_policies(RoleName="writer-role")["PolicyNames"] == []


def test_the_console_needs_a_login(client: Client) -> None:
    answer = client.get(reverse("sandbox_aws:resources"))
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_the_resources_page_asks_the_database_the_same_for_one_role_or_many(
    client: Client, learner: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("sandbox_aws:resources")).status_code == 200
        return len(captured)

    def add(name: str) -> None:
        role = roles.role_save(owner=learner, name=name)
        roles.role_put_policy(
            role=role,
            name="p",
            document={
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            },
        )
        roles.function_role_set(function=function_create(owner=learner, name=name), role=role)

    add("one")
    client.get(reverse("sandbox_aws:resources"))  # the account's first use is made once
    one = queries()
    for name in ("two", "three", "four"):
        add(name)
    assert queries() == one


def test_trigger_relay_queues_are_hidden_from_the_console_and_kept_working(
    client: Client, learner: Any
) -> None:
    from sandbox.triggers import services as trigger_services
    from tests.sandbox.factories import FunctionFactory

    account = account_for(learner)
    bucket = f"relayed-{account}"
    lab_client("s3", account_id=account).create_bucket(Bucket=bucket)
    client.post(reverse("sandbox_aws:queue_create"), {"name": "jobs"})
    trigger = trigger_services.s3_trigger_create(
        function=FunctionFactory(owner=learner), bucket=bucket
    )
    relay = trigger.relay_queue
    sqs = lab_client("sqs", account_id=account)
    relay_url = sqs.get_queue_url(QueueName=relay)["QueueUrl"]

    page = client.get(reverse("sandbox_aws:resources"))
    assert b"jobs" in page.content and relay.encode() not in page.content
    # Nothing the console offers reaches it: not its page, a send, a purge or a redrive.
    shown = client.get(reverse("sandbox_aws:queue", args=[relay]))
    assert shown.status_code == 404 and b"relay queue" in shown.content
    for action, data in (
        ("message_send", {"body": "sneaky"}),
        ("queue_purge", {}),
        ("queue_redrive", {}),
    ):
        done = client.post(reverse(f"sandbox_aws:{action}", args=[relay]), data, follow=True)
        assert b"the lab&#x27;s own relay queue" in done.content, action
    made = client.post(
        reverse("sandbox_aws:queue_create"),
        {"name": "mine", "dead_letter_queue": relay},
        follow=True,
    )
    assert b"kept for the lab&#x27;s triggers" in made.content
    assert "mine" not in [q.rsplit("/", 1)[-1] for q in sqs.list_queues()["QueueUrls"]]
    attributes = sqs.get_queue_attributes(QueueUrl=relay_url, AttributeNames=["All"])["Attributes"]
    assert "RedrivePolicy" not in attributes
    # Nor can a mapping take the relay's messages, from the function's triggers page or the API.
    function = trigger.function
    form = client.post(
        reverse("sandbox_triggers:function_triggers", args=[function.pk]),
        {
            "kind": "sqs",
            "sqs-queue": relay,
            "sqs-batch_size": 10,
            "sqs-maximum_batching_window_s": 0,
        },
    )
    assert "the lab&#x27;s own relay queue" in form.content.decode()
    with pytest.raises(ValidationError, match="relay queue"):
        trigger_services.mapping_create(function=function, event_source_arn=attributes["QueueArn"])
    assert not function.event_source_mappings.exists()

    # The relay still carries the bucket's events.
    lab_client("s3", account_id=account).put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    received = sqs.receive_message(QueueUrl=relay_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    bodies = [json.loads(m["Body"]) for m in received["Messages"]]
    # S3 sends a TestEvent when the notification is set up, then the object's event.
    keys = [b["Records"][0]["s3"]["object"]["key"] for b in bodies if "Records" in b]
    assert keys == ["a.txt"]


def test_a_missing_resource_is_a_404_and_stopped_services_a_503(
    client: Client, learner: Any
) -> None:
    from django.test import override_settings

    pages = [
        reverse("sandbox_aws:bucket", args=[f"nothing-{account_for(learner)}"]),
        reverse("sandbox_aws:table", args=["Nothing"]),
        reverse("sandbox_aws:queue", args=["nothing"]),
    ]
    for url in pages:
        missing = client.get(url)
        assert missing.status_code == 404, url
    with override_settings(LAB_SERVICES_URL=""):
        for url in [reverse("sandbox_aws:resources"), *pages]:
            down = client.get(url)
            assert down.status_code == 503 and b"LAB_SERVICES_URL" in down.content, url
