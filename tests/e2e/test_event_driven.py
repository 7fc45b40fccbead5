"""Issue 12's scenario as a new learner tries it, in Chromium: a bucket, a table and a function
with an S3 trigger made in the console, a file uploaded in the browser, AccessDenied from a role
without dynamodb:PutItem, the role fixed in its editor, and the item in the table.

Everything is real: the lab's moto server, the Celery worker that relays S3's notification and
runs the handler, boto3 inside the jail and the gateway that checks the role's policies."""

import re
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_sandbox import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

HANDLER = """import boto3

table = boto3.resource("dynamodb").Table("uploads")


def lambda_handler(event, context):
    keys = []
    for record in event["Records"]:
        key = record["s3"]["object"]["key"]
        table.put_item(
            Item={
                "id": key,
                "bucket": record["s3"]["bucket"]["name"],
                "size": record["s3"]["object"]["size"],
            }
        )
        keys.append(key)
    return {"stored": keys}
"""

# A trigger's invocation runs on the worker; a cold start with boto3 takes a while on a busy box.
RUN_TIMEOUT_MS = 90_000


def upload(page: Page, base: str, bucket: str, path: Path) -> None:
    page.goto(f"{base}/resources/buckets/{bucket}/")
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("[data-upload-status]")).to_have_text("Uploaded.")
    expect(page.locator("#objects")).to_contain_text(path.name)


def open_latest_invocation(page: Page, base: str, function_url: str, count: int) -> None:
    """The History tab, reloaded until it lists `count` invocations; then the newest one."""
    page.goto(f"{base}{function_url}")
    page.get_by_role("link", name="History").click()
    rows = page.locator(".history tbody tr")
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    # The History page does not refresh itself: reload it until the relay's invocation is there.
    while rows.count() < count and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.reload()
    expect(rows).to_have_count(count)
    newest = rows.first
    expect(newest).to_contain_text("arn:aws:s3:::")
    newest.get_by_role("link", name=re.compile(r"^#\d+$")).click()


def test_s3_upload_runs_the_function_denied_then_allowed_once_the_role_is_fixed(
    page: Page, live_server, celery_worker_process, moto_server, tmp_path: Path
):
    base = live_server.url
    log_in(page, base)
    bucket = f"e2e-photos-{uuid.uuid4().hex[:10]}"  # bucket names are global, as on AWS

    # Resources: a bucket and a table.
    page.goto(f"{base}/resources/")
    page.get_by_label("Bucket name").fill(bucket)
    page.get_by_role("button", name="Create bucket").click()
    expect(page.locator("#messages")).to_contain_text(f"Bucket {bucket} created.")
    expect(page.get_by_role("link", name=bucket)).to_be_visible()
    page.get_by_label("Table name").fill("uploads")
    page.get_by_role("button", name="Create table").click()
    expect(page.locator("#messages")).to_contain_text("Table uploads created.")
    expect(page.get_by_role("link", name="uploads", exact=True)).to_be_visible()

    # A function whose handler writes an item for each S3 record.
    page.goto(f"{base}/sandbox/new/?blueprint=hello-world")
    page.fill("input[name=name]", "s3-to-dynamodb")
    page.get_by_role("button", name="Create function").click()
    expect(page.get_by_role("heading", name="s3-to-dynamodb")).to_be_visible()
    expect(page.locator(".code-panel .CodeMirror")).to_be_visible()
    page.locator("#code-editor").evaluate("(t, code) => t.editor.setValue(code)", HANDLER)
    page.get_by_role("button", name="Save code").click()
    expect(page.locator("#code-status")).to_have_text("Saved.")
    function_url = page.url.split(base, 1)[1].split("?", 1)[0]

    # Its S3 trigger, from the Triggers tab.
    page.get_by_role("link", name="Triggers").click()
    s3_form = page.locator("form").filter(has=page.get_by_role("heading", name="Add an S3 bucket"))
    s3_form.get_by_label("Bucket").fill(bucket)
    expect(s3_form.get_by_label("s3:ObjectCreated:*")).to_be_checked()
    s3_form.get_by_role("button", name="Add trigger").click()
    expect(page.locator("#messages")).to_contain_text("Trigger added.")
    expect(page.locator("table")).to_contain_text(f"arn:aws:s3:::{bucket}")

    # A role that may read the bucket but not write to the table, given to the function.
    page.goto(f"{base}/resources/")
    page.get_by_label("Role name").fill("uploads-role")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("heading", name="Role uploads-role")).to_be_visible()
    page.get_by_label("Template").select_option("s3-read")
    page.get_by_label("Bucket, table, queue or topic name").fill(bucket)
    page.get_by_role("button", name="Apply template").click()
    expect(page.locator("#messages")).to_contain_text("Policy template applied.")
    expect(page.locator("textarea[name=document]").first).to_have_value(re.compile(r"s3:GetObject"))
    page.get_by_label("Run a function with this role").select_option(label="s3-to-dynamodb")
    page.get_by_role("button", name="Use this role").click()
    expect(page.locator("#messages")).to_contain_text("s3-to-dynamodb now runs with this role.")
    role_url = page.url

    # Upload in the browser: the trigger runs the function with the S3 event, and the role
    # refuses the PutItem.
    first = tmp_path / "cat.txt"
    first.write_text("meow")
    upload(page, base, bucket, first)
    open_latest_invocation(page, base, function_url, 1)
    result = page.locator("#result")
    expect(result.locator(".status-line")).not_to_contain_text("…", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("[data-trigger]")).to_contain_text(f"arn:aws:s3:::{bucket}")
    event = page.locator("pre.payload").last
    expect(event).to_contain_text('"eventSource": "aws:s3"')
    expect(event).to_contain_text('"key": "cat.txt"')
    expect(result.locator(".error-object")).to_contain_text("AccessDenied")
    expect(result.locator(".error-object")).to_contain_text(
        "is not authorized to perform: dynamodb:PutItem"
    )
    denied = result.locator("[data-trace] tr[data-call-outcome=denied]")
    expect(denied).to_have_count(1)
    expect(denied).to_contain_text("PutItem")
    expect(denied).to_contain_text("denied")
    expect(denied).to_contain_text(":table/uploads")

    # Fix the role: DynamoDB CRUD on the table.
    page.goto(role_url)
    page.get_by_label("Template").select_option("dynamodb-crud")
    page.get_by_label("Bucket, table, queue or topic name").fill("uploads")
    page.get_by_role("button", name="Apply template").click()
    expect(page.locator("#messages")).to_contain_text("Policy template applied.")
    expect(page.locator("textarea[name=document]").first).to_have_value(
        re.compile(r"dynamodb:PutItem")
    )

    # Upload again: the invocation succeeds and the item is in the table.
    second = tmp_path / "dog.txt"
    second.write_text("woof!")
    upload(page, base, bucket, second)
    open_latest_invocation(page, base, function_url, 2)
    result = page.locator("#result")
    expect(result.locator(".status-line .badge-ok")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(result.locator(".payload")).to_contain_text("dog.txt")
    expect(result.locator("[data-trace] tr[data-call-outcome=allowed]")).to_contain_text("PutItem")
    expect(result.locator("[data-trace] tr[data-call-outcome=denied]")).to_have_count(0)

    page.goto(f"{base}/resources/tables/uploads/")
    items = page.locator(".card pre")
    expect(items).to_have_count(1)
    expect(items).to_contain_text('"id": "dog.txt"')
    expect(items).to_contain_text(f'"bucket": "{bucket}"')
    expect(items).to_contain_text('"size": 5')
