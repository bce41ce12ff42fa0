"""The front door: ``/`` opens the dashboard; ``/healthz`` answers load balancers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("evaluations:dashboard"))


def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
