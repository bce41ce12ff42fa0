"""Per-user API tokens.

A token is shown once, when it is created; only its SHA-256 is stored, so a copy of the
database does not hand out working keys. The first characters (``prefix``) are kept in clear so
that users can tell their tokens apart in the list and in the audit log.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    #: The first characters of the key, shown to tell tokens apart (never enough to use it).
    prefix = models.CharField(max_length=8)
    #: SHA-256 of the whole key, hex; the key itself is never stored.
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, *, now: datetime | None = None) -> bool:
        """Neither revoked nor expired (the user's own state is checked on use)."""
        moment = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > moment
