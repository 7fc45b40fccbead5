# mypy: disable-error-code="no-untyped-def"
import json

# API Gateway proxy integration: the event describes the HTTP request and the handler must
# return {"statusCode", "headers", "body"} where body is a string.
ITEMS = {"42": {"id": "42", "name": "widget", "price": 9.5}}


def response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def lambda_handler(event, context):
    # REST API (v1) events carry httpMethod; HTTP API (v2) events carry requestContext.http.
    method = event.get("httpMethod") or event["requestContext"]["http"]["method"]
    if method == "GET":
        item_id = (event.get("pathParameters") or {}).get("id", "")
        item = ITEMS.get(item_id)
        if item is None:
            return response(404, {"message": f"no item {item_id}"})
        return response(200, item)
    if method == "POST":
        try:
            body = json.loads(event.get("body") or "{}")
        except json.JSONDecodeError:
            return response(400, {"message": "body must be JSON"})
        return response(201, {"created": body})
    return response(405, {"message": f"{method} not allowed"})
