from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API (django-ninja): OpenAPI document, per-user tokens."""

    name = "fenji.web.api"
    label = "api"
