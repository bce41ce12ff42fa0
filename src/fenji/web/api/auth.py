"""Who is calling the API: an API token (``Authorization: Bearer <key>``), or, for reads only,
the browser session of a logged-in user.

Writes through the API need a token. A browser session may read (GET), so that a logged-in user
can open ``/api/customers`` or try the API from its documentation page; an unsafe request that
carries only the session cookie is refused — first by the CSRF check (a page of another site
cannot post in the user's name), then because writes need a token.

Bad keys are throttled like logins (:mod:`fenji.web.accounts.throttle`): every failure is an
audit entry, and a client address with too many recent failures is answered 429 without another
look at the database's tokens. Keys are 32 random bytes, so there is nothing to guess; the
throttle keeps a misconfigured or hostile client from flooding the log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from fenji.web.accounts.models import AuditEntry
from fenji.web.accounts.services import audit
from fenji.web.accounts.throttle import client_address
from fenji.web.api.errors import ApiError
from fenji.web.api.services import PREFIX_LENGTH, token_authenticate

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Failed token checks allowed per client address in the login window.
DEFAULT_ATTEMPTS = 20


def _attempts() -> int:
    return int(getattr(settings, "FENJI_API_AUTH_ATTEMPTS", DEFAULT_ATTEMPTS))


def _too_many_failures(address: str) -> bool:
    since = timezone.now() - timedelta(seconds=settings.FENJI_LOGIN_WINDOW)
    failures = AuditEntry.objects.filter(
        action="api.token_failed", at__gte=since, details__address=address
    )
    return failures.count() >= _attempts()


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <key>`` with a key from the API tokens page."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization")
        if not header:
            return None  # no token: the session may still authenticate a read
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer":
            self._fail(request, "", "send the token as 'Authorization: Bearer <key>'")
        return self.authenticate(request, key.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_authenticate(key=token)
        if found is None:
            self._fail(request, token, "the API token is unknown, revoked or expired")
        assert found is not None
        request.user = found.user
        return found.user

    def _fail(self, request: HttpRequest, key: str, message: str) -> None:
        address = client_address(request)
        if _too_many_failures(address):
            raise ApiError(429, "throttled", "too many failed API logins; wait a few minutes")
        audit(
            action="api.token_failed",
            actor="api",
            object_type="token",
            object_id=key[:PREFIX_LENGTH],
            details={"address": address, "path": request.path[:200]},
        )
        raise ApiError(401, "unauthorized", message)


class SessionReadAuth(APIKeyCookie):
    """The logged-in browser user, for GET only; unsafe methods need a token (and are
    CSRF-checked first, so a cross-site form never gets further than 403)."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=False)

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method in SAFE_METHODS:
            return user
        if check_csrf(request) is not None:
            raise ApiError(
                403,
                "csrf_failed",
                "the CSRF check failed; changes through the API need an API token",
            )
        raise ApiError(
            401,
            "token_required",
            "changes through the API need an API token: 'Authorization: Bearer <key>'",
        )

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return None  # __call__ decides; kept for the abstract base


auth = [TokenAuth(), SessionReadAuth()]
