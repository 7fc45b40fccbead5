# mypy: disable-error-code="no-untyped-def"
import time

# Everything at module level runs once per execution environment, in the INIT phase (reported
# as "Init Duration" on the cold start only). Warm invocations reuse it.
INIT_STARTED = time.time()
# Stand-in for loading a model, creating SDK clients or reading configuration:
# CPU work, so it gets faster with more memory (Lambda gives CPU in proportion to memory).
LOOKUP = {n: sum(i * i for i in range(n % 500)) for n in range(20_000)}
INIT_SECONDS = time.time() - INIT_STARTED
invocations = 0


def lambda_handler(event, context):
    global invocations
    invocations += 1
    return {
        "invocations_in_this_environment": invocations,
        "init_work_seconds": round(INIT_SECONDS, 3),
        "lookup_size": len(LOOKUP),
    }
