"""Writes of the Lambda API: access keys, published versions and aliases.

Functions and invocations are the sandbox's own (sandbox.services): the API calls the same
services as the console, so limits and fair shares apply to every way in.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from sandbox.api.models import AccessKey

MAX_ACTIVE_KEYS = 2  # IAM's limit per user
_KEY_ALPHABET = string.ascii_uppercase + "234567"
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def access_key_create(*, owner: User) -> tuple[AccessKey, str]:
    """Create an access key pair; return the key and its secret (shown this once).

    Key ids look like IAM's (AKIA + 16 characters); secrets are 40 characters. Raises
    ValidationError past MAX_ACTIVE_KEYS active keys, as IAM does.
    """
    active = AccessKey.objects.filter(owner=owner, revoked_at__isnull=True).count()
    if active >= MAX_ACTIVE_KEYS:
        raise ValidationError(
            f"You have {active} active access keys, the most a user can have. "
            "Revoke one you no longer use to create another."
        )
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    key = AccessKey.objects.create(owner=owner, access_key_id=key_id, secret=secret)
    return key, secret


def access_key_revoke(*, key: AccessKey) -> AccessKey:
    """Revoke a key: requests signed with it get UnrecognizedClientException from now on."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
    return key


def access_key_mark_used(*, key: AccessKey, now: datetime | None = None) -> None:
    """Record that key signed a request (to the minute, so busy keys do not write each call)."""
    now = now or timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        AccessKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
