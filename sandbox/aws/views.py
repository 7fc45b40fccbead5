"""The learner endpoint and the Resources console.

The learner endpoint: boto3 and the AWS CLI on a learner's machine reach their lab account
at <site>/aws/ (endpoint_url with a path prefix, which botocore keeps for every protocol), signed
with their access keys. The view only hands the raw request to the gateway."""

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from lambdalab.http import AuthedHtmxHttpRequest
from sandbox.api import sigv4
from sandbox.aws import gateway, roles, selectors, services
from sandbox.models import Function

MOUNT = "/aws"


def _raw_target(request: HttpRequest) -> str:
    # The signature covers the path exactly as sent: gunicorn hands it over as RAW_URI; other
    # servers decode it, and botocore's encoding is put back.
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return str(raw)
    query = request.META.get("QUERY_STRING", "")
    return sigv4.wire_path(request.path) + (f"?{query}" if query else "")


@csrf_exempt
def endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    limit = settings.LAB_MAX_REQUEST_BYTES
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    # request.read(), not request.body: Django caps .body at 2.5 MB, and objects are bigger.
    body = request.read(limit + 1) if length else b""
    headers = [(name, value) for name, value in request.headers.items()]
    if len(body) > limit:
        status, out, payload = 413, [("Content-Type", "text/plain")], b"Request too large"
    else:
        result = gateway.handle(
            gateway.GatewayRequest(
                method=request.method or "GET",
                target=_raw_target(request),
                headers=headers,
                body=body,
            ),
            mount=MOUNT,
        )
        status, out, payload = result.status, result.headers, result.body
    response = HttpResponse(payload, status=status)
    for name, value in out:
        if name.lower() == "content-length" and request.method != "HEAD":
            continue
        response[name] = value
    return response


# ------------------------------------------------------------------------------------ console
# The Resources console: thin views over sandbox.aws.services (writes) and selectors (reads).
# Each action is a plain form post that redirects back to its page; with htmx (or the upload
# script's XHR) it answers the page's named partial instead.


def _notice(request: HttpRequest, exc: Exception, *, status: int) -> HttpResponse:
    return render(request, "sandbox_aws/unavailable.html", {"message": str(exc)}, status=status)


def _resource_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A console page: what the learner's account lacks is a 404 (another learner's resource
    included), the services being down a 503 page that says so."""

    @functools.wraps(view)
    def page(request: AuthedHtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except selectors.RelayQueue as exc:
            # It exists, so the plain 404 page would mislead: say whose it is.
            return _notice(request, exc, status=404)
        except selectors.ResourceMissing as exc:
            raise Http404(str(exc)) from None
        except selectors.ServicesDown as exc:
            return _notice(request, exc, status=503)

    return page


def _done(
    request: AuthedHtmxHttpRequest, url: str, *, message: str = "", error: str = ""
) -> HttpResponse:
    if error:
        messages.error(request, error)
    elif message:
        messages.success(request, message)
    return redirect(url)


def _act(request: AuthedHtmxHttpRequest, url: str, action: Any, message: str) -> HttpResponse:
    try:
        result = action()
    except (services.ResourceError, selectors.ResourceMissing, selectors.ServicesDown) as exc:
        return _done(request, url, error=str(exc))
    return _done(request, url, message=message.format(result=result))


@login_required
@require_GET
@_resource_page
def resources_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "overview": selectors.resources_overview(owner=user),
        "roles": selectors.role_list(owner=user),
        "stream_views": ["", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"],
    }
    return render(request, "sandbox_aws/resources.html", context)


@login_required
@require_POST
def bucket_create_view(request: AuthedHtmxHttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    return _act(
        request,
        reverse("sandbox_aws:resources"),
        lambda: services.bucket_create(owner=request.user, name=name),
        f"Bucket {name} created.",
    )


@login_required
@require_POST
def table_create_view(request: AuthedHtmxHttpRequest) -> HttpResponse:
    post = request.POST
    name = post.get("name", "").strip()
    return _act(
        request,
        reverse("sandbox_aws:resources"),
        lambda: services.table_create(
            owner=request.user,
            name=name,
            partition_key=post.get("partition_key", "").strip() or "id",
            partition_type=post.get("partition_type", "S"),
            sort_key=post.get("sort_key", "").strip(),
            sort_type=post.get("sort_type", "S"),
            stream_view=post.get("stream_view", ""),
        ),
        f"Table {name} created.",
    )


@login_required
@require_POST
def queue_create_view(request: AuthedHtmxHttpRequest) -> HttpResponse:
    post = request.POST
    name = post.get("name", "").strip()
    try:
        visibility = int(post.get("visibility_timeout") or 30)
        receives = int(post.get("max_receive_count") or 3)
    except ValueError:
        return _done(request, reverse("sandbox_aws:resources"), error="Use whole numbers.")
    return _act(
        request,
        reverse("sandbox_aws:resources"),
        lambda: services.queue_create(
            owner=request.user,
            name=name,
            visibility_timeout_s=visibility,
            dead_letter_queue=post.get("dead_letter_queue", "").strip(),
            max_receive_count=receives,
        ),
        f"Queue {name} created.",
    )


@login_required
@require_POST
def topic_create_view(request: AuthedHtmxHttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    return _act(
        request,
        reverse("sandbox_aws:resources"),
        lambda: services.topic_create(owner=request.user, name=name),
        f"Topic {name} created.",
    )


@login_required
@require_POST
def topic_publish_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    post = request.POST
    return _act(
        request,
        reverse("sandbox_aws:resources"),
        lambda: services.topic_publish(
            owner=request.user,
            topic=name,
            message=post.get("message", ""),
            subject=post.get("subject", ""),
        ),
        f"Published to {name}: message {{result}}.",
    )


@login_required
@require_POST
def role_create_view(request: AuthedHtmxHttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    try:
        services.role_create(owner=request.user, name=name)
    except (services.ResourceError, selectors.ServicesDown) as exc:
        return _done(request, reverse("sandbox_aws:resources"), error=str(exc))
    return _done(request, reverse("sandbox_aws:role", args=[name]), message=f"Role {name} created.")


# ---------------------------------------------------------------- buckets


@login_required
@require_GET
@_resource_page
def bucket_page(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    objects = selectors.bucket_objects(owner=request.user, bucket=name)
    template = "sandbox_aws/bucket.html" + ("#objects" if request.htmx else "")
    return render(request, template, {"bucket": name, "objects": objects})


@login_required
@require_POST
def object_upload_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    upload = request.FILES.get("file")
    url = reverse("sandbox_aws:bucket", args=[name])
    if upload is None:
        return _done(request, url, error="Choose a file to upload.")
    key = request.POST.get("prefix", "").strip() + (upload.name or "upload")
    try:
        services.object_upload(
            owner=request.user,
            bucket=name,
            key=key,
            data=upload,
            content_type=upload.content_type or "",
        )
    except (services.ResourceError, selectors.ServicesDown) as exc:
        if request.htmx:
            return HttpResponse(str(exc), status=400, content_type="text/plain")
        return _done(request, url, error=str(exc))
    if request.htmx:
        objects = selectors.bucket_objects(owner=request.user, bucket=name)
        return render(
            request, "sandbox_aws/bucket.html#objects", {"bucket": name, "objects": objects}
        )
    return _done(request, url, message=f"Uploaded {key}.")


@login_required
@require_GET
def object_download_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponseBase:
    key = request.GET.get("key", "")
    if not key:
        raise Http404("Name the object to download: ?key=<its key>.")
    try:
        found = selectors.object_download(owner=request.user, bucket=name, key=key)
    except selectors.ResourceMissing as exc:
        raise Http404(str(exc)) from None
    except selectors.ServicesDown as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(
        found["Body"].iter_chunks(64 * 1024),
        content_type=found.get("ContentType") or "application/octet-stream",
    )
    # A length lets the browser show the download's progress.
    response["Content-Length"] = str(found.get("ContentLength", ""))
    filename = key.rsplit("/", 1)[-1] or "object"
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    return response


@login_required
@require_POST
def object_delete_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    key = request.POST.get("key", "")
    return _act(
        request,
        reverse("sandbox_aws:bucket", args=[name]),
        lambda: services.object_delete(owner=request.user, bucket=name, key=key),
        f"Deleted {key}.",
    )


# ---------------------------------------------------------------- tables


@login_required
@require_GET
@_resource_page
def table_page(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    table = selectors.table_view(owner=request.user, table=name)
    edit = request.GET.get("edit", "")
    return render(request, "sandbox_aws/table.html", {"table": table, "edit": edit})


@login_required
@require_POST
def item_put_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    return _act(
        request,
        reverse("sandbox_aws:table", args=[name]),
        lambda: services.item_put(
            owner=request.user, table=name, item_json=request.POST.get("item", "")
        ),
        "Item saved.",
    )


@login_required
@require_POST
def item_delete_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    return _act(
        request,
        reverse("sandbox_aws:table", args=[name]),
        lambda: services.item_delete(
            owner=request.user, table=name, key_json=request.POST.get("key", "")
        ),
        "Item deleted.",
    )


# ---------------------------------------------------------------- queues


@login_required
@require_GET
@_resource_page
def queue_page(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    queue = selectors.queue_view(owner=request.user, name=name)
    template = "sandbox_aws/queue.html" + ("#counts" if request.htmx else "")
    return render(request, template, {"queue": queue})


@login_required
@require_POST
def message_send_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    return _act(
        request,
        reverse("sandbox_aws:queue", args=[name]),
        lambda: services.message_send(
            owner=request.user, queue=name, body=request.POST.get("body", "")
        ),
        "Sent message {result}.",
    )


@login_required
@require_POST
def queue_redrive_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    return _act(
        request,
        reverse("sandbox_aws:queue", args=[name]),
        lambda: services.queue_redrive(owner=request.user, dead_letter_queue=name),
        "Moved {result} messages back to their source queue.",
    )


@login_required
@require_POST
def queue_purge_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    return _act(
        request,
        reverse("sandbox_aws:queue", args=[name]),
        lambda: services.queue_purge(owner=request.user, queue=name),
        "Queue purged.",
    )


# ---------------------------------------------------------------- roles


def _role(request: AuthedHtmxHttpRequest, name: str) -> Any:
    try:
        return selectors.role_get(owner=request.user, name=name)
    except selectors.ResourceMissing as exc:
        raise Http404(str(exc)) from None


@login_required
@require_GET
def role_page(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    role = _role(request, name)
    context = {
        "role": role,
        "arn": roles.role_arn(role),
        "templates": roles.TEMPLATES,
        "policies": [
            {"name": p.name, "json": json.dumps(p.document, indent=2)} for p in role.policies.all()
        ],
        "functions": Function.objects.filter(owner=request.user).order_by("name"),
        "using": [assignment.function for assignment in role.functions.all()],
    }
    return render(request, "sandbox_aws/role.html", context)


@login_required
@require_POST
def role_template_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    role = _role(request, name)
    return _act(
        request,
        reverse("sandbox_aws:role", args=[name]),
        lambda: services.role_template_apply(
            role=role,
            template=request.POST.get("template", ""),
            resource_name=request.POST.get("resource", "").strip(),
        ),
        "Policy template applied.",
    )


@login_required
@require_POST
def role_policy_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    role = _role(request, name)
    return _act(
        request,
        reverse("sandbox_aws:role", args=[name]),
        lambda: services.role_policy_save(
            role=role,
            name=request.POST.get("policy_name", "").strip(),
            document=request.POST.get("document", ""),
        ),
        "Policy saved.",
    )


@login_required
@require_POST
def role_policy_delete_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    role = _role(request, name)
    return _act(
        request,
        reverse("sandbox_aws:role", args=[name]),
        lambda: services.role_policy_delete(role=role, name=request.POST.get("policy_name", "")),
        "Policy deleted.",
    )


@login_required
@require_POST
def role_assign_view(request: AuthedHtmxHttpRequest, name: str) -> HttpResponse:
    role = _role(request, name)
    try:
        function_id = int(request.POST.get("function", ""))
    except ValueError:
        raise Http404("No such function.") from None
    return _act(
        request,
        reverse("sandbox_aws:role", args=[name]),
        lambda: services.role_assign(role=role, function_id=function_id),
        "{result} now runs with this role.",
    )
