# mypy: disable-error-code="no-untyped-def"
import json


def lambda_handler(event, context):
    """Log the event and greet; print() output appears in the log between START and END."""
    print("Received event:", json.dumps(event))
    print("Time left:", context.get_remaining_time_in_millis(), "ms")
    return {
        "message": f"Hello, {event.get('key1', 'world')}!",
        "function": context.function_name,
        "memory_limit_mb": context.memory_limit_in_mb,
        "request_id": context.aws_request_id,
    }
