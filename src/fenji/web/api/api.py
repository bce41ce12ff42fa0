"""fenji's REST API (django-ninja): ``/api/``, OpenAPI document at ``/api/openapi.json``,
interactive documentation at ``/api/docs``.

The documentation page is Swagger UI served from this site (django-ninja ships the files), not
from a CDN: offline installs have no internet, and the content security policy allows scripts
from this site only. Its settings travel as a JSON data block, read by ninja's own init script.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase

from fenji.web.api import customers, overrides, runs
from fenji.web.api.auth import auth
from fenji.web.api.errors import install_handlers

DESCRIPTION = """\
客户分类分级系统接口 · Customer classification and tiering.

Authenticate with a personal API token (create one on the **API tokens** page):
`Authorization: Bearer fjk_…`. A logged-in browser session may read (GET) too.

Every answer is limited to the customers you may see: administrators see every customer,
managers their team's, sales reps their own. A customer you may not see answers 404.
Errors are `{"code": ..., "message": ...}` with a stable `code`.
"""


class LocalSwagger(DocsBase):
    """Swagger UI from this site's static files (no CDN, no inline script)."""

    settings: dict[str, Any] = {
        "layout": "BaseLayout",
        "deepLinking": True,
        "validatorUrl": None,
        "persistAuthorization": False,
    }

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        options = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        return render(request, "api/docs.html", {"api": api, "swagger_settings": options})


api = NinjaAPI(
    title="fenji API",
    version="1",
    description=DESCRIPTION,
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
    auth=auth,
)
install_handlers(api)
api.add_router("", customers.router)
api.add_router("", runs.router)
api.add_router("", overrides.router)
