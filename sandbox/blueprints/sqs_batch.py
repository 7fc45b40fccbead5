# mypy: disable-error-code="no-untyped-def"
import json

# With ReportBatchItemFailures enabled on the event source mapping, return the ids of the
# messages that failed: only those go back to the queue, the rest are deleted.


def process(message):
    order = json.loads(message["body"])
    if order.get("amount", 0) <= 0:
        raise ValueError("amount must be positive")
    print(f"order {order['order_id']}: charged {order['amount']}")


def lambda_handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            process(record)
        except Exception as exc:
            print(f"message {record['messageId']} failed: {exc!r}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
