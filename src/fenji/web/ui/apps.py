from django.apps import AppConfig


class UiConfig(AppConfig):
    """The web UI's shared parts: base layout, design system, template helpers, headers."""

    name = "fenji.web.ui"
    label = "ui"
