"""The exercises the lab try-its set are solvable as their descriptions say: the permissions
lesson's AccessDenied goes away once the learner applies the DynamoDB CRUD template to the role,
with no change to the code."""

from django.utils import timezone

from sandbox import labs
from sandbox.aws import services as aws_services
from sandbox.aws.models import ExecutionRole
from tests.labs.test_labs import settle
from tests.labs.test_lessons import WITH_LAB, lesson_lab_open


def test_the_permissions_lab_succeeds_once_the_role_may_write_the_table(
    celery_worker_process, learner, moto_server
) -> None:
    (source,) = [s for s in WITH_LAB if s.slug == "permissions"]
    lab = source.data["try_it"]["lab"]
    function = lesson_lab_open(learner, source)
    since = timezone.now()
    labs.steps_run(function=function, steps=lab["steps"])
    denied = settle(function, lab["expect"], since)
    assert denied.settled, denied.problems
    assert "dynamodb:PutItem" in function.invocations.get().error["errorMessage"]

    # What the description tells the learner to do: the DynamoDB CRUD template on the table.
    role = ExecutionRole.objects.get(owner=learner, name=f"{function.name}-role")
    aws_services.role_template_apply(role=role, template="dynamodb-crud", resource_name="receipts")
    since = timezone.now()
    labs.steps_run(function=function, steps=lab["steps"])
    fixed = settle(
        function,
        [
            {"invocations": {"count": 1, "status": "success"}},
            {"item": {"table": "receipts", "key": {"id": "scans/2026-12-01 taxi.txt"}}},
        ],
        since,
    )
    assert fixed.settled, fixed.problems
