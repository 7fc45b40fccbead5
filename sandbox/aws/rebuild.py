"""Re-creating learners' configuration when moto restarts.

moto keeps everything in memory, so a restarted moto has no buckets, tables, queues, topics or
roles. A marker in moto's default account (which no learner can reach: the gateway always names
the caller's own account) holds a random generation id; a moto without one is fresh. Each
LabAccount remembers the generation its configuration was last made in, and the first use of an
account in a new generation (a gateway call, a console page, a trigger's client) makes it again
from our records, lazily, one account at a time. Re-creating is idempotent: resources that exist
already are left as they are.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from sandbox.aws import records
from sandbox.aws.accounts import MOTO_DEFAULT_ACCOUNT
from sandbox.aws.connection import LabServicesUnavailable, moto_client
from sandbox.aws.models import ExecutionRole, LabAccount, LabResource, ResourceKind

logger = logging.getLogger(__name__)

MARKER = "/lambdalab/moto-generation"
# How long a process trusts the generation it last read: a restart is noticed within this.
CHECK_EVERY_S = 3.0

# What other apps keep of an account in moto (sandbox.triggers: notifications, subscriptions,
# rules), each made again after the account's own resources: (what, fn(account_id) -> count).
_also: list[tuple[str, Callable[[str], int]]] = []


def rebuild_also(what: str, rebuild: Callable[[str], int]) -> None:
    """Register rebuild(account_id) -> how many it made, run when an account is re-created
    (apps register in their AppConfig.ready, so this module imports none of them)."""
    _also.append((what, rebuild))


_lock = threading.Lock()
_generation: dict[str, tuple[str, float]] = {}
_ensured: set[tuple[str, str]] = set()


def _client(service: str, account_id: str) -> Any:
    url = settings.LAB_SERVICES_URL
    if not url:
        raise LabServicesUnavailable("The lab's AWS services are not running (LAB_SERVICES_URL).")
    return moto_client(service, url=url, account_id=account_id)


def moto_generation(*, url: str, now: float | None = None) -> str:
    """The running moto's generation id, marking a fresh moto with a new one."""
    now = now if now is not None else time.monotonic()
    cached = _generation.get(url)
    if cached and now - cached[1] < CHECK_EVERY_S:
        return cached[0]
    ssm = _client("ssm", MOTO_DEFAULT_ACCOUNT)
    try:
        value = ssm.get_parameter(Name=MARKER)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        value = uuid.uuid4().hex
        try:
            ssm.put_parameter(Name=MARKER, Value=value, Type="String", Overwrite=False)
        except ssm.exceptions.ParameterAlreadyExists:
            # Another process marked it first: theirs is the generation.
            value = ssm.get_parameter(Name=MARKER)["Parameter"]["Value"]
    _generation[url] = (value, now)
    return str(value)


def account_ensure(*, account_id: str, url: str) -> bool:
    """Make the account's recorded configuration again if moto restarted since it was last
    made; True if it was re-created now. Errors reaching moto are logged, not raised: the
    call that follows reports the outage in its own shape."""
    try:
        generation = moto_generation(url=url)
        if (account_id, generation) in _ensured:
            return False
        with _lock:
            account = LabAccount.objects.select_related("owner").filter(account_id=account_id)
            lab = account.first()
            if lab is None:
                return False
            if lab.moto_generation == generation:
                _ensured.add((account_id, generation))
                return False
            account_rebuild(lab)
            LabAccount.objects.filter(pk=lab.pk).update(moto_generation=generation)
            _ensured.add((account_id, generation))
            return True
    except (BotoCoreError, ClientError) as exc:
        logger.warning("could not check or rebuild lab account %s: %s", account_id, exc)
        return False


def _ignore_exists(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in (
            "EntityAlreadyExists",
            "BucketAlreadyOwnedByYou",
            "ResourceInUseException",
            "QueueAlreadyExists",
            "QueueNameExists",
        ):
            return None
        raise


def role_rebuild(role: ExecutionRole, *, account_id: str) -> None:
    """Make the role and its inline policies in moto as our record has them."""
    iam = _client("iam", account_id)
    _ignore_exists(
        iam.create_role,
        RoleName=role.name,
        AssumeRolePolicyDocument=json.dumps(role.trust_policy),
        Description=role.description,
    )
    for policy in role.policies.all():
        iam.put_role_policy(
            RoleName=role.name, PolicyName=policy.name, PolicyDocument=json.dumps(policy.document)
        )


def account_rebuild(lab: LabAccount) -> None:
    """Make every recorded role, bucket, table, queue, topic and subscription of the account."""
    owner, account_id = lab.owner, lab.account_id
    for role in ExecutionRole.objects.filter(owner=owner).prefetch_related("policies"):
        role_rebuild(role, account_id=account_id)
    resources = list(LabResource.objects.filter(owner=owner))
    by_kind: dict[str, list[LabResource]] = {}
    for resource in resources:
        by_kind.setdefault(resource.kind, []).append(resource)
    s3 = _client("s3", account_id)
    for bucket in by_kind.get(ResourceKind.BUCKET, []):
        _ignore_exists(s3.create_bucket, Bucket=bucket.name)
    dynamodb = _client("dynamodb", account_id)
    for table in by_kind.get(ResourceKind.TABLE, []):
        spec = {key: value for key, value in table.spec.items() if key in records.TABLE_KEYS}
        spec.setdefault("TableName", table.name)
        _ignore_exists(dynamodb.create_table, **spec)
    sqs = _client("sqs", account_id)
    queues = by_kind.get(ResourceKind.QUEUE, [])
    # Dead-letter queues must exist before a redrive policy can name them.
    for queue in queues:
        attributes = {
            k: v for k, v in queue.spec.get("Attributes", {}).items() if k != "RedrivePolicy"
        }
        kwargs: dict[str, Any] = {"QueueName": queue.name, "Attributes": attributes}
        if queue.spec.get("tags"):
            kwargs["tags"] = queue.spec["tags"]
        _ignore_exists(sqs.create_queue, **kwargs)
    for queue in queues:
        redrive = queue.spec.get("Attributes", {}).get("RedrivePolicy")
        if redrive:
            url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive})
    sns = _client("sns", account_id)
    for topic in by_kind.get(ResourceKind.TOPIC, []):
        sns.create_topic(Name=topic.name, Attributes=topic.spec.get("Attributes", {}))
    for subscription in by_kind.get(ResourceKind.SUBSCRIPTION, []):
        spec = subscription.spec
        made = sns.subscribe(
            TopicArn=spec["TopicArn"],
            Protocol=spec["Protocol"],
            Endpoint=spec["Endpoint"],
            Attributes=spec.get("Attributes") or {},
            ReturnSubscriptionArn=True,
        )
        subscription.spec = {**spec, "arn": made["SubscriptionArn"]}
        subscription.save(update_fields=["spec", "updated_at"])
    also = [f"{count} {what}" for what, rebuild in _also if (count := rebuild(account_id))]
    logger.info(
        "re-created lab account %s: %d roles and resources%s",
        account_id,
        len(resources),
        "".join(f", {made}" for made in also),
    )
