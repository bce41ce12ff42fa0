"""Reading policies."""

from __future__ import annotations

from fenji.web.policies.models import PolicyVersion


def published_version(*, name: str) -> PolicyVersion:
    """The published version of policy ``name``; raises LookupError with a hint."""
    version = (
        PolicyVersion.objects.select_related("policy")
        .filter(policy__name=name, is_published=True)
        .first()
    )
    if version is None:
        raise LookupError(
            f"policy '{name}' has no published version; publish one with "
            f"'fenji policy publish FILE'"
        )
    return version
