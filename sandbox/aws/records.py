"""Our record of learners' resources, kept from the calls the gateway forwards.

The gateway calls observe()d functions after every call moto answered with success; this
module turns the ones that create, change or delete configuration into rows, so the
configuration can be shown and re-created after moto restarts.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from django.contrib.auth.models import User

from sandbox.aws import gateway, roles
from sandbox.aws.models import ExecutionRole

logger = logging.getLogger(__name__)


def _form(request: gateway.GatewayRequest) -> dict[str, str]:
    query = request.target.partition("?")[2]
    values = parse_qs(query, keep_blank_values=True)
    values.update(parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return {key: items[0] for key, items in values.items()}


def _iam(call: gateway.Call, request: gateway.GatewayRequest, caller: Any) -> None:
    form = _form(request)
    owner = User.objects.get(pk=caller.owner_id)
    name = form.get("RoleName", "")
    if not name:
        return
    role = ExecutionRole.objects.filter(owner=owner, name=name).first()
    try:
        if call.operation == "CreateRole":
            trust = json.loads(form.get("AssumeRolePolicyDocument") or "{}") or None
            roles.role_save(
                owner=owner, name=name, description=form.get("Description", ""), trust_policy=trust
            )
        elif call.operation == "UpdateAssumeRolePolicy" and role is not None:
            role.trust_policy = json.loads(form.get("PolicyDocument") or "{}")
            role.save(update_fields=["trust_policy", "updated_at"])
        elif call.operation == "PutRolePolicy":
            role = role or roles.role_save(owner=owner, name=name)
            roles.role_put_policy(
                role=role, name=form.get("PolicyName", ""), document=form.get("PolicyDocument", "")
            )
        elif call.operation == "DeleteRolePolicy" and role is not None:
            roles.role_delete_policy(role=role, name=form.get("PolicyName", ""))
        elif call.operation == "DeleteRole" and role is not None:
            roles.role_delete(role=role)
    except (ValueError, roles.RoleError) as exc:
        # moto took it but it is not something the lab can enforce: say so in the log; the
        # role keeps its last policies the lab understood.
        logger.warning("IAM %s on %s not recorded: %s", call.operation, name, exc)


@gateway.observe
def record(call: gateway.Call, request: gateway.GatewayRequest, body: bytes, caller: Any) -> None:
    if call.service == "iam":
        _iam(call, request, caller)
