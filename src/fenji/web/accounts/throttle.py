"""Login throttling that holds across web workers: failed logins are audit entries, and a
login name or a client address with too many recent failures is refused for a while.

Counting in the database (not in a per-process cache) means several workers, or a restart,
do not reset the count; the audit log shows every attempt.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from fenji.web.accounts.models import AuditEntry


def client_address(request: HttpRequest) -> str:
    """The client's address (behind a proxy, the first forwarded one when the proxy is trusted)."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def locked_out(*, username: str, address: str) -> bool:
    """True when ``username`` or ``address`` has had too many failed logins recently."""
    since = timezone.now() - timedelta(seconds=settings.FENJI_LOGIN_WINDOW)
    failures = AuditEntry.objects.filter(action="login.failed", at__gte=since).filter(
        Q(object_id=username.lower()[:128]) | Q(details__address=address)
    )
    return failures.count() >= settings.FENJI_LOGIN_ATTEMPTS
