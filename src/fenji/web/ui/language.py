"""The request's language as the engine, the readers and the summaries name it.

Django speaks ``zh-hans`` (the default) or ``en``; explanations, summaries and error reports
are made in ``zh`` or ``en``. One function maps the one to the other for every page, the API
and the template tags.
"""

from __future__ import annotations

from django.utils.translation import get_language

from fenji.io.errors import Language


def active_lang() -> Language:
    """``en`` while English is active, else ``zh`` (also when no language is active)."""
    return "en" if (get_language() or "").lower().startswith("en") else "zh"
