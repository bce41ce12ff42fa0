"""Start Django from the CLI and from scripts: ``fenji.web.setup.django_setup()``."""

from __future__ import annotations

import os


def django_setup() -> None:
    """Configure Django once (settings from ``DJANGO_SETTINGS_MODULE`` or fenji's own)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fenji.web.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def migrate(verbosity: int = 0) -> None:
    """Create or update the database schema."""
    django_setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
