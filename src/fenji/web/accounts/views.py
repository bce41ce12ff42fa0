"""Log in (throttled, audited) and log out."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from fenji.web.accounts.services import audit
from fenji.web.accounts.throttle import client_address, locked_out


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(_next(request))
    form = AuthenticationForm(request, data=request.POST or None)
    error = ""
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        address = client_address(request)
        if locked_out(username=username, address=address):
            error = _("Too many failed logins. Wait a few minutes and try again.")
            status = 429
            audit(
                action="login.throttled",
                actor=username[:150],
                object_type="user",
                object_id=username.lower()[:128],
                details={"address": address},
            )
        elif form.is_valid():
            user = form.get_user()
            auth.login(request, user)
            audit(
                action="login",
                user=user,
                object_type="user",
                object_id=user.get_username(),
                details={"address": address},
            )
            return HttpResponseRedirect(_next(request))
        else:
            error = _("Login name or password is wrong.")
            audit(
                action="login.failed",
                actor=username[:150],
                object_type="user",
                object_id=username.lower()[:128],
                details={"address": address},
            )
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "error": error,
            "next": _next(request),
            "demo_users": settings.FENJI_DEMO_USERS,
        },
        status=status,
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit(
            action="logout",
            user=request.user,
            object_type="user",
            object_id=request.user.get_username(),
        )
    auth.logout(request)
    return HttpResponseRedirect("/login/")
