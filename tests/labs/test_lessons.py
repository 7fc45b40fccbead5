"""Lab try-its: "Open in the sandbox" sets the lab up in the learner's account, "Run the lab"
fires its steps, and every shipped lab does what its lesson says, through a real worker."""

import pytest
from django.utils import timezone

from learn.services.content import CONTENT_ROOT, lesson_source_parse
from sandbox import labs
from sandbox import services as sandbox_services
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import lab_client
from sandbox.aws.models import ExecutionRole
from sandbox.models import Function
from tests.labs.test_labs import EXPECT, LAB, RECORDER, STEPS, settle
from tests.learn.factories import LessonFactory

LESSONS = [
    lesson_source_parse(text=path.read_text(), path=path.name)
    for path in sorted((CONTENT_ROOT / "lessons").glob("*.md"))
]
WITH_LAB = [s for s in LESSONS if "lab" in s.data.get("try_it", {})]
# The lessons whose try-it must run through a real trigger or service.
LAB_LESSONS = {
    "event-driven-model",
    "permissions",
    "use-cases",
    "errors-and-retries",
    "api-gateway",
}


def test_the_event_driven_lessons_try_its_use_real_triggers_and_services() -> None:
    assert {s.slug for s in WITH_LAB} >= LAB_LESSONS


@pytest.mark.content
@pytest.mark.parametrize("source", WITH_LAB, ids=[s.slug for s in WITH_LAB])
def test_shipped_lab_does_what_its_lesson_says(source, celery_worker_process, learner, moto_server):
    try_it = source.data["try_it"]
    lab = try_it["lab"]
    function = sandbox_services.function_create_from_lesson(
        owner=learner,
        lesson_slug=source.slug,
        name=f"{source.slug}-try-it",
        handler=try_it["handler"],
        files=try_it["files"],
        event=try_it.get("event"),
        memory_mb=try_it["memory_mb"],
        timeout_s=try_it["timeout_s"],
    )
    labs.lab_apply(function=function, lab=lab)
    since = timezone.now()
    labs.steps_run(function=function, steps=lab["steps"])
    outcome = settle(function, lab["expect"], since, timeout_s=lab.get("wait_s", 20) + 20)
    logs = "\n".join(function.invocations.values_list("log", flat=True))
    assert outcome.settled, (outcome.problems, outcome.pending, logs[-3000:])


TRY_IT = {
    "title": "Record uploads",
    "description": "Upload a file.",
    "handler": "app.handler",
    "memory_mb": 128,
    "timeout_s": 10,
    "files": {"app.py": RECORDER},
    "event": {"Records": []},
    "lab": {**LAB, "steps": STEPS, "expect": EXPECT},
}


def test_the_lesson_page_opens_runs_and_resets_the_lab(
    client, celery_worker_process, learner, moto_server
) -> None:
    LessonFactory(slug="uploads", try_it=TRY_IT)
    client.force_login(learner)
    page = client.get("/lessons/uploads/").content.decode()
    assert "DynamoDB table sizes (key key)" in page
    assert "upload notes/a.txt to uploads-{account}" in page
    assert ">Run the lab</button>" not in page  # nothing to run it against yet

    opened = client.post("/lessons/uploads/try/")
    function = Function.objects.get(owner=learner, lesson_slug="uploads")
    assert opened["Location"] == function.get_absolute_url()
    assert ">Run the lab</button>" in client.get("/lessons/uploads/").content.decode()

    since = timezone.now()
    ran = client.post("/lessons/uploads/lab/run/")
    assert ran["Location"] == function.get_absolute_url()
    assert settle(function, EXPECT, since).settled

    # The learner breaks the role; a reset puts the lesson's lab back and empties it.
    role = ExecutionRole.objects.get(owner=learner, name=f"{function.name}-role")
    role.policies.all().delete()
    reset = client.post("/lessons/uploads/lab/reset/", follow=True)
    assert "set up again as the lesson ships it" in reset.content.decode()
    assert role.policies.count() == 2
    table = lab_client("dynamodb", account_id=account_for(learner)).scan(TableName="sizes")
    assert table["Count"] == 0


def test_running_a_lab_before_opening_it_says_what_to_do(client, learner, moto_server) -> None:
    LessonFactory(slug="uploads", try_it=TRY_IT)
    client.force_login(learner)
    response = client.post("/lessons/uploads/lab/run/", follow=True)
    assert "Open the lesson&#x27;s function in the sandbox first" in response.content.decode()
    LessonFactory(slug="plain")
    response = client.post("/lessons/plain/lab/run/", follow=True)
    assert "This lesson has no lab to run." in response.content.decode()
