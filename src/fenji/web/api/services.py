"""Creating, revoking and checking API tokens.

A key is 32 random bytes (URL-safe base64) behind the marker ``fjk_``, so secret scanners and
people recognise it. It is returned once by :func:`token_create`; the database keeps its SHA-256
only. A fast hash is enough here (unlike passwords): the key is random and long, so there is
nothing to guess, and every API call can check it without a slow key derivation.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from fenji.web.accounts.services import audit
from fenji.web.api.models import ApiToken
from fenji.web.errors import CodedError

KEY_MARKER = "fjk_"
PREFIX_LENGTH = 8
NAME_MAX = 100
#: ``last_used_at`` is written at most this often per token, so a busy client does not turn
#: every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(CodedError, ValueError):
    """A token request that cannot be done; ``code`` is stable, ``message`` says the fix."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    #: The whole key: shown to its owner once, never stored.
    key: str


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def token_create(*, user: Any, name: str, expires_at: datetime | None = None) -> NewToken:
    """A new token for ``user`` (audited as ``token.created``); the key is in the result only."""
    clean = " ".join((name or "").split())
    if not clean:
        raise TokenError("token.name_required", "give the token a name (e.g. the script using it)")
    if len(clean) > NAME_MAX:
        raise TokenError("token.name_too_long", f"a token name has at most {NAME_MAX} characters")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("token.expired", "the expiry date is in the past; choose a later date")
    key = KEY_MARKER + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=clean,
            prefix=key[:PREFIX_LENGTH],
            key_hash=key_hash(key),
            expires_at=expires_at,
        )
        audit(
            action="token.created",
            user=user,
            object_type="token",
            object_id=token.pk,
            details={
                "name": token.name,
                "prefix": token.prefix,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return NewToken(token=token, key=key)


def token_revoke(*, user: Any, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens (audited as ``token.revoked``); the token stays
    listed as revoked. Another user's token is reported as not found."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if token is None:
            raise TokenError("token.not_found", f"you have no token #{token_id}")
        if token.revoked_at is not None:
            raise TokenError("token.already_revoked", f"token '{token.name}' is already revoked")
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(
            action="token.revoked",
            user=user,
            object_type="token",
            object_id=token.pk,
            details={"name": token.name, "prefix": token.prefix},
        )
    return token


def token_authenticate(*, key: str) -> ApiToken | None:
    """The active token with this key, its user loaded, or None (unknown, revoked, expired, or
    its user inactive). Marks the token used."""
    if not key.startswith(KEY_MARKER) or len(key) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
    now = timezone.now()
    if token is None or not token.is_active(now=now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
