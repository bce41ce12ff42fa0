"""Users' roles and teams, and the audit log.

Roles decide what a user may see: an administrator sees everything, a manager the customers of
the reps in the team, a sales rep only the customers they own (``Customer.owner`` holds the
rep's login).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "管理员 administrator"
    MANAGER = "manager", "经理 manager"
    REP = "rep", "销售代表 sales rep"


class Membership(models.Model):
    """A user's role and team."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class AuditEntry(models.Model):
    """Who did what, when: policy changes, overrides, exports, logins, imports, runs."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor = models.CharField(max_length=150, blank=True, help_text="login or 'cli' / 'system'")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M}"
        return f"{when} {self.actor} {self.action} {self.object_type}:{self.object_id}"
