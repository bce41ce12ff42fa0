"""Error answers of the API: always ``{"code": ..., "message": ...}`` with a stable code.

Clients branch on ``code`` (``not_found``, ``forbidden``, ``invalid``, ``unauthorized``,
``csrf_failed``, ``throttled``, ``conflict``); ``message`` says what went wrong and how to fix it;
``detail`` names the precise rule when there is one (``override.unknown_label``) and ``errors``
lists bad fields of a request.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from fenji.web.evaluations.errors import OverrideError, RunError


class ErrorOut(Schema):
    code: str
    message: str
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


class ApiError(HttpError):
    """An answer other than success, with its stable code."""

    def __init__(self, status: int, code: str, message: str, *, detail: str | None = None) -> None:
        super().__init__(status, message)
        self.code = code
        self.message = message
        self.detail = detail


_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid",
    429: "throttled",
}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist or is not visible to you")


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def _field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "message": str(e.get("msg", ""))}
        for e in errors
    ]


def install_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default error bodies (``{"detail": ...}``) with fenji's."""

    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status_code, _body(exc.code, exc.message, detail=exc.detail))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = (
            "authentication required: send 'Authorization: Bearer <API token>' "
            "(create a token on the API tokens page)"
        )
        response = respond(request, 401, _body("unauthorized", message))
        response["WWW-Authenticate"] = 'Bearer realm="fenji"'
        return response

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        return respond(request, 429, _body("throttled", "too many requests; wait and retry"))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = _CODES.get(exc.status_code, "error")
        return respond(request, exc.status_code, _body(code, str(exc)))

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        body = _body(
            "invalid", "the request is not valid; see errors", errors=_field_errors(exc.errors)
        )
        return respond(request, 422, body)

    @api.exception_handler(Http404)
    def missing(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, _body("not_found", "not found"))

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        needed = str(exc) or "this action"
        return respond(
            request, 403, _body("forbidden", f"your role does not allow {needed}", detail=needed)
        )

    @api.exception_handler(OverrideError)
    def override_refused(request: HttpRequest, exc: OverrideError) -> HttpResponse:
        status = 409 if exc.code == "override.already_revoked" else 400
        code = "conflict" if status == 409 else "invalid"
        return respond(request, status, _body(code, exc.message, detail=exc.code))

    @api.exception_handler(RunError)
    def run_refused(request: HttpRequest, exc: RunError) -> HttpResponse:
        return respond(request, 400, _body("invalid", exc.message, detail=exc.code))
