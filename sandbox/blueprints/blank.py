# mypy: disable-error-code="no-untyped-def"
import json


def lambda_handler(event, context):
    # Your code here. `event` is the JSON your function was invoked with.
    return {"statusCode": 200, "body": json.dumps("Hello from Lambda!")}
