"""The schema: migrations apply, and one published version per policy is enforced by the
database itself."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from fenji.web.policies.models import Policy, PolicyVersion

pytestmark = pytest.mark.django_db


def test_only_one_published_version_per_policy() -> None:
    policy = Policy.objects.create(name="tob_abcd")
    PolicyVersion.objects.create(policy=policy, version=1, yaml="x", is_published=True)
    PolicyVersion.objects.create(policy=policy, version=2, yaml="y", is_published=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.create(policy=policy, version=3, yaml="z", is_published=True)


def test_migrations_are_complete() -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
