"""Policy versions: save a draft, publish it, or do both; every change is validated and audited.

Publishing switches the published flag from the old version to the new one in one transaction;
the database allows only one published version per policy, so two publishers cannot both win.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from fenji.policy.models import Policy as PolicyModel
from fenji.policy.validate import PolicyError, parse_policy
from fenji.web.accounts.services import audit
from fenji.web.policies.models import Policy, PolicyVersion
from fenji.web.policies.selectors import policy_text_check


def policy_version_create(*, yaml_text: str, user: Any = None, note: str = "") -> PolicyVersion:
    """Save ``yaml_text`` as the next version of its policy (validated; raises PolicyError)."""
    parsed = parse_policy(yaml_text, file="<policy>")
    with transaction.atomic():
        policy, _ = Policy.objects.select_for_update().get_or_create(name=parsed.name)
        policy.title = parsed.title.get("zh")
        policy.save(update_fields=["title"])
        last = policy.versions.order_by("-version").first()
        version = PolicyVersion.objects.create(
            policy=policy,
            version=(last.version + 1) if last else 1,
            yaml=yaml_text,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            note=note,
        )
        audit(
            action="policy.version_created",
            user=user,
            object_type="policy",
            object_id=parsed.name,
            details={"version": version.version, "note": note},
        )
    return version


def policy_version_publish(*, version: PolicyVersion, user: Any = None) -> PolicyVersion:
    """Make ``version`` the published version of its policy."""
    with transaction.atomic():
        PolicyVersion.objects.filter(policy=version.policy, is_published=True).exclude(
            pk=version.pk
        ).update(is_published=False)
        version.is_published = True
        version.published_at = timezone.now()
        version.save(update_fields=["is_published", "published_at"])
        audit(
            action="policy.published",
            user=user,
            object_type="policy",
            object_id=version.policy.name,
            details={"version": version.version},
        )
    return version


def policy_publish_text(*, yaml_text: str, user: Any = None, note: str = "") -> PolicyVersion:
    """Save and publish in one step; publishing text identical to the published version
    changes nothing (so that ``fenji demo`` can run again without new versions)."""
    parsed = parse_policy(yaml_text, file="<policy>")
    current = PolicyVersion.objects.filter(policy__name=parsed.name, is_published=True).first()
    if current is not None and current.yaml == yaml_text:
        return current
    return policy_version_publish(
        version=policy_version_create(yaml_text=yaml_text, user=user, note=note), user=user
    )


def parsed_policy(version: PolicyVersion) -> PolicyModel:
    """The validated policy model of a stored version."""
    return parse_policy(version.yaml, file=f"{version.policy.name} v{version.version}")


def policy_draft_save(
    *, yaml_text: str, policy: Policy | None, user: Any = None, note: str = ""
) -> PolicyVersion:
    """Save edited YAML as a new unpublished version of ``policy`` (None: a new policy).

    Checked as the editor checks it — the name must stay the policy's own, a new policy needs a
    free name — so that a draft saved from a policy's page never lands in another policy.
    Raises :class:`PolicyError` listing every issue. Browsers send a textarea's lines ended
    by CR LF: they are stored ended by LF, as every other version is."""
    yaml_text = yaml_text.replace("\r\n", "\n")
    _, issues = policy_text_check(
        yaml_text=yaml_text, policy=policy.name if policy is not None else None
    )
    if issues:
        raise PolicyError(issues)
    return policy_version_create(yaml_text=yaml_text, user=user, note=note.strip()[:300])
