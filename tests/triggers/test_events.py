"""Reading a ReportBatchItemFailures response as Lambda does."""

from sandbox.triggers.events import sqs_batch_item_failures

IDS = {"m1", "m2"}


def test_no_response_or_an_empty_list_means_every_message_succeeded():
    for payload in (None, "", {}, {"batchItemFailures": []}, {"other": 1}):
        assert sqs_batch_item_failures(payload, message_ids=IDS) == set()


def test_named_failures_are_returned():
    payload = {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert sqs_batch_item_failures(payload, message_ids=IDS) == {"m2"}


def test_an_unusable_identifier_fails_the_whole_batch():
    for failures in (
        [{"itemIdentifier": ""}],
        [{"itemIdentifier": None}],
        [{"itemIdentifier": "x"}],
        ["m1"],
    ):
        assert sqs_batch_item_failures({"batchItemFailures": failures}, message_ids=IDS) is None
    assert sqs_batch_item_failures([1], message_ids=IDS) is None


def test_s3_keys_are_encoded_as_s3_does_and_the_test_event_is_dropped():
    from sandbox.triggers.events import s3_event

    body = {
        "Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "a%2Fb+c.jpg"}}}]
    }
    (record,) = s3_event(body, account_id="210987654321")["Records"]
    assert record["s3"]["object"]["key"] == "a/b+c.jpg"
    assert record["s3"]["bucket"]["ownerIdentity"] == {"principalId": "210987654321"}
    assert s3_event({"Service": "Amazon S3", "Event": "s3:TestEvent"}, account_id="1") is None
