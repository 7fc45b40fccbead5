"""DynamoDB streams: batches with the stream record shape, StartingPosition and bisecting a
failed batch down to the record that fails, end to end with a real worker."""

from sandbox.aws.clients import lab_client
from sandbox.models import Invocation
from sandbox.triggers.models import InvocationTrigger
from tests.sandbox.api.conftest import create_hello
from tests.triggers.conftest import eventually

PICKY = """
def lambda_handler(event, context):
    for record in event["Records"]:
        if record["dynamodb"]["NewImage"]["name"]["S"] == "bad":
            raise ValueError("bad record " + record["eventID"])
    return len(event["Records"])
"""


def make_table(account: str) -> str:
    dynamodb = lab_client("dynamodb", account_id=account)
    table = dynamodb.create_table(
        TableName="people",
        KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return table["TableDescription"]["LatestStreamArn"]


def put(account: str, *names: str) -> None:
    dynamodb = lab_client("dynamodb", account_id=account)
    for name in names:
        dynamodb.put_item(TableName="people", Item={"name": {"S": name}})


def runs_of(name: str) -> list[Invocation]:
    return list(
        Invocation.objects.filter(function__name=name, trigger__isnull=False)
        .exclude(status__in=Invocation.PENDING)
        .order_by("pk")
    )


def names_in(invocation: Invocation) -> list[str]:
    import json

    return [r["dynamodb"]["NewImage"]["name"]["S"] for r in json.loads(invocation.event)["Records"]]


def test_a_stream_batch_bisects_to_the_failing_record_and_latest_skips_the_past(
    celery_worker_process, lam, account
):
    stream = make_table(account)
    put(account, "ann", "bad", "cy")
    create_hello(lam, "picky", source=PICKY)
    create_hello(lam, "newcomer")
    mapping = lam.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName="picky",
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
    )
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True and mapping["BatchSize"] == 10
    lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName="newcomer", StartingPosition="LATEST"
    )

    def cy_done() -> bool:
        return any(
            r.status == Invocation.Status.SUCCESS and names_in(r) == ["cy"]
            for r in runs_of("picky")
        )

    eventually(cy_done, what="the record after the failing one processed")
    runs = [(names_in(r), r.status) for r in runs_of("picky")]
    ok, error = Invocation.Status.SUCCESS, Invocation.Status.ERROR
    # The whole batch fails; its first half [ann] succeeds; [bad, cy] fails; [bad] fails and,
    # with no retries left, is skipped; the next batch is [cy].
    assert runs == [
        (["ann", "bad", "cy"], error),
        (["ann"], ok),
        (["bad", "cy"], error),
        (["bad"], error),
        (["cy"], ok),
    ]
    record = InvocationTrigger.objects.filter(invocation__function__name="picky").first()
    import json

    first = json.loads(record.invocation.event)["Records"][0]
    assert first["eventSource"] == "aws:dynamodb" and first["eventName"] == "INSERT"
    assert first["eventSourceARN"] == stream and first["awsRegion"] == "us-east-1"
    assert first["dynamodb"]["Keys"] == {"name": {"S": "ann"}}
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert {"eventID", "eventVersion", "SequenceNumber", "SizeBytes"} <= set(first) | set(
        first["dynamodb"]
    )

    # LATEST: only what was written after the mapping was made.
    put(account, "dee")
    eventually(lambda: runs_of("newcomer"), what="the newcomer's first batch")
    assert [names_in(r) for r in runs_of("newcomer")] == [["dee"]]
