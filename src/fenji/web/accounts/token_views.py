"""The API tokens page: a user's own tokens, creating one (its key shown once), revoking.

The new key is shown in the answer to the creating POST itself and nowhere else: it is not put
in the session or a message, so it never rests in the database, and reloading the page does not
show it again. Pages of signed-in users are sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fenji.web.accounts.access import require
from fenji.web.api.selectors import token_list
from fenji.web.api.services import NAME_MAX, TokenError, token_create, token_revoke

#: Lifetimes offered when creating a token (days; "" = no expiry).
LIFETIMES = ("30", "90", "365", "")
DEFAULT_LIFETIME = "90"


def _error_text(err: TokenError) -> str:
    texts = {
        "token.name_required": _("Give the token a name, e.g. the script or system that uses it."),
        "token.name_too_long": _("A token name has at most %(n)s characters.") % {"n": NAME_MAX},
        "token.bad_lifetime": _("Choose one of the offered lifetimes."),
        "token.already_revoked": _("This token is already revoked."),
    }
    return str(texts.get(err.code, err.message))


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    require(request.user, "api.token")
    new = None
    error = ""
    status = 200
    name = ""
    lifetime = DEFAULT_LIFETIME
    if request.method == "POST":
        name = request.POST.get("name", "")
        lifetime = request.POST.get("lifetime", DEFAULT_LIFETIME)
        try:
            if lifetime not in LIFETIMES:
                raise TokenError("token.bad_lifetime", "unknown lifetime")
            expires_at = timezone.now() + timedelta(days=int(lifetime)) if lifetime else None
            new = token_create(user=request.user, name=name, expires_at=expires_at)
            name, lifetime = "", DEFAULT_LIFETIME
        except TokenError as err:
            error = _error_text(err)
            status = 400
    now = timezone.now()
    rows = [
        {
            "token": t,
            "state": "revoked"
            if t.revoked_at is not None
            else ("expired" if t.expires_at is not None and t.expires_at <= now else "active"),
        }
        for t in token_list(user=request.user)
    ]
    return render(
        request,
        "accounts/tokens.html",
        {
            "rows": rows,
            "new": new,
            "error": error,
            "name": name,
            "lifetime": lifetime,
            "lifetimes": LIFETIMES,
            "name_max": NAME_MAX,
            "api_base": request.build_absolute_uri("/api/"),
        },
        status=status,
    )


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    require(request.user, "api.token")
    try:
        token = token_revoke(user=request.user, token_id=token_id)
    except TokenError as err:
        if err.code == "token.not_found":
            raise Http404(err.message) from None
        messages.warning(request, _error_text(err))
    else:
        messages.success(
            request,
            _("Token “%(name)s” is revoked; programs using it can no longer call the API.")
            % {"name": token.name},
        )
    return HttpResponseRedirect(reverse("accounts:tokens"))
