# mypy: disable-error-code="no-untyped-def"
import datetime
import os

# An EventBridge schedule (e.g. cron(0 19 * * ? *)) invokes this asynchronously; nobody reads
# the return value, so log what happened and raise on failure (Lambda retries twice).


def lambda_handler(event, context):
    fired_at = datetime.datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    report_day = (fired_at - datetime.timedelta(days=1)).date()
    print(f"rule {event['resources'][0]} fired at {fired_at.isoformat()}")
    print(f"building the report for {report_day} in region {os.environ.get('AWS_REGION')}")
    rows = [{"day": str(report_day), "signups": 17, "orders": 4}]
    return {"report_day": str(report_day), "rows": len(rows)}
