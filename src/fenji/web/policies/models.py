"""Policies as versioned documents: every edit is a new version; one version per policy name is
published at a time (a partial unique constraint enforces it on SQLite and PostgreSQL)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Policy(models.Model):
    name = models.CharField(max_length=63, unique=True)
    title = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.name

    @property
    def published(self) -> PolicyVersion | None:
        return self.versions.filter(is_published=True).first()


class PolicyVersion(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    yaml = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=300, blank=True)
    is_published = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["policy", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "version"], name="policy_version_unique"),
            models.UniqueConstraint(
                fields=["policy"],
                condition=models.Q(is_published=True),
                name="one_published_version_per_policy",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy.name} v{self.version}"
