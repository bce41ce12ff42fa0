"""URL routes: one include per app, the REST API under ``/api/``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import set_language

from fenji.web.ui import views as ui

urlpatterns: list[URLPattern | URLResolver] = [
    path("", ui.home, name="home"),
    path("healthz", ui.healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("fenji.web.accounts.urls")),
    path("customers/", include("fenji.web.customers.urls")),
    path("policies/", include("fenji.web.policies.urls")),
    path("imports/", include("fenji.web.facts.urls")),
    path("", include("fenji.web.evaluations.urls")),
    path("api/", include("fenji.web.api.urls")),
]
