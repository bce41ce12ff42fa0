"""Writing the audit log: one function every service calls."""

from __future__ import annotations

from typing import Any

from fenji.web.accounts.models import AuditEntry


def audit(
    *,
    action: str,
    user: Any = None,
    actor: str = "",
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record who did what to which object (policy changes, overrides, exports, logins, runs)."""
    real_user = user if getattr(user, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        user=real_user,
        actor=actor or (real_user.get_username() if real_user is not None else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
    )
