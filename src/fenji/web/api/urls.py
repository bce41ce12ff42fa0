"""``/api/``: the REST API's operations, its OpenAPI document and its documentation page; any
other path under ``/api/`` answers a JSON 404 in the API's error shape, not an HTML page."""

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path

from fenji.web.api.api import api


def unknown(request: HttpRequest, rest: str) -> JsonResponse:
    return JsonResponse(
        {"code": "not_found", "message": f"there is no API operation at {request.path}"},
        status=404,
    )


urlpatterns: list[URLPattern | URLResolver] = [
    path("", api.urls),
    re_path(r"^(?P<rest>.+)$", unknown, name="unknown"),
]
