"""Reading policies: the list with each policy's state, versions, and checking edited YAML.

Versions are immutable once saved, so a parsed version is cached by its text: the list page
shows titles in the reader's language (kept only in the YAML) without parsing every policy on
every request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml
from django.db.models import Count, OuterRef, Q, Subquery

from fenji.policy.models import Policy as PolicyModel
from fenji.policy.validate import PolicyError, ValidationIssue, parse_policy
from fenji.policy.yaml_loader import YamlSyntaxError, line_of, load_yaml
from fenji.shipped import shipped_policies
from fenji.web.evaluations.models import EvaluationRun
from fenji.web.policies.models import Policy, PolicyVersion

logger = logging.getLogger(__name__)

#: The largest policy text the web editor accepts (the largest shipped policy is ~8 KB).
MAX_YAML_CHARS = 200_000


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


@lru_cache(maxsize=256)
def _parsed_text(text: str) -> PolicyModel | PolicyError:
    try:
        return parse_policy(text, file="<policy>")
    except PolicyError as err:
        return err


def parsed_or_none(version: PolicyVersion) -> PolicyModel | None:
    """The parsed policy of a stored version (cached by its text), or None when it no longer
    validates (a version saved under older rules). Read-only: callers must not change it."""
    parsed = _parsed_text(version.yaml)
    return None if isinstance(parsed, PolicyError) else parsed


def parsed_version(version: PolicyVersion) -> PolicyModel:
    """The parsed policy of a stored version from the same cache as :func:`parsed_or_none`;
    raises :class:`PolicyError` when it no longer validates. Read-only, like that one."""
    parsed = _parsed_text(version.yaml)
    if isinstance(parsed, PolicyError):
        raise parsed
    return parsed


def title_of(*, policy: Policy, version: PolicyVersion | None, lang: str) -> str:
    """The policy's title in ``lang`` from the version's YAML, else the stored (Chinese) one."""
    parsed = parsed_or_none(version) if version is not None else None
    if parsed is not None:
        return parsed.title.get(lang)
    return policy.title or policy.name


def version_status(version: PolicyVersion) -> str:
    """``published`` (the current one), ``retired`` (published before) or ``draft``."""
    if version.is_published:
        return "published"
    return "retired" if version.published_at is not None else "draft"


@dataclass(frozen=True)
class PolicyRow:
    """One line of the policy list."""

    name: str
    title: str
    published: PolicyVersion | None
    versions: int
    drafts: int
    last_run_id: int | None
    last_run_as_of: date | None
    last_run_status: str | None


def policy_rows(*, lang: str) -> list[PolicyRow]:
    """Every policy with its published version, number of drafts and last run — three queries
    whatever the number of policies and versions."""
    last_run = EvaluationRun.objects.filter(policy=OuterRef("pk")).order_by("-id")
    policies = (
        Policy.objects.annotate(
            n_versions=Count("versions"),
            n_drafts=Count("versions", filter=Q(versions__published_at__isnull=True)),
            last_run_id=Subquery(last_run.values("id")[:1]),
            last_run_as_of=Subquery(last_run.values("as_of")[:1]),
            last_run_status=Subquery(last_run.values("status")[:1]),
        )
        .order_by("name")
        .all()
    )
    published = {
        v.policy_id: v
        for v in PolicyVersion.objects.filter(is_published=True).select_related("created_by")
    }
    rows = []
    for p in policies:
        version = published.get(p.pk)
        rows.append(
            PolicyRow(
                name=p.name,
                title=title_of(policy=p, version=version, lang=lang),
                published=version,
                versions=p.n_versions,
                drafts=p.n_drafts,
                last_run_id=p.last_run_id,
                last_run_as_of=p.last_run_as_of,
                last_run_status=p.last_run_status,
            )
        )
    return rows


def policy_get(*, name: str) -> Policy:
    """One policy by name; raises Policy.DoesNotExist."""
    return Policy.objects.get(name=name)


def version_list(*, policy: Policy) -> list[PolicyVersion]:
    """The versions of ``policy``, newest first, with their authors."""
    return list(policy.versions.select_related("created_by").order_by("-version"))


def version_pick(versions: list[PolicyVersion], number: int | None) -> PolicyVersion | None:
    """Version ``number`` from ``versions``; without a number the published one, else the
    newest. None when there is no such version."""
    if number is not None:
        return next((v for v in versions if v.version == number), None)
    return next((v for v in versions if v.is_published), versions[0] if versions else None)


# -- checking edited text -------------------------------------------------------------------


def _alias_issue(text: str) -> ValidationIssue | None:
    """Anchors and aliases (``&a`` / ``*a``) are refused in edited policies: a few lines of
    nested aliases expand to millions of nodes, and no shipped policy uses them."""
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                return ValidationIssue(
                    "policy.yaml_alias",
                    "YAML aliases (*name) are not accepted in the editor",
                    "",
                    line=event.start_mark.line + 1,
                    hint="write the repeated part out in full",
                )
    except yaml.YAMLError:
        return None  # the parser reports the syntax error with its line
    return None


def _name_issue(text: str, parsed: PolicyModel, *, policy: str | None) -> ValidationIssue | None:
    """A version belongs to the policy it is edited under; a new policy needs a free name."""
    try:
        _, lines = load_yaml(text)
    except YamlSyntaxError:
        lines = {}
    line = line_of(lines, ("name",))
    if policy is not None and parsed.name != policy:
        return ValidationIssue(
            "policy.name_changed",
            f"the name is '{parsed.name}', but this is a version of policy '{policy}'",
            "name",
            line=line,
            hint=f"keep 'name: {policy}'; to start another policy use 'New policy'",
        )
    if policy is None and Policy.objects.filter(name=parsed.name).exists():
        return ValidationIssue(
            "policy.name_taken",
            f"a policy named '{parsed.name}' exists already",
            "name",
            line=line,
            hint=f"choose another name, or edit policy '{parsed.name}' instead",
        )
    return None


def policy_text_check(
    *, yaml_text: str, policy: str | None
) -> tuple[PolicyModel | None, list[ValidationIssue]]:
    """Validate edited YAML for policy ``policy`` (None: a new policy). Returns the parsed
    policy and no issues, or None and every issue found, each with its line and hint."""
    if not yaml_text.strip():
        return None, [
            ValidationIssue(
                "policy.empty",
                "the policy is empty",
                "",
                hint="start from the published version or a shipped example",
            )
        ]
    if len(yaml_text) > MAX_YAML_CHARS:
        return None, [
            ValidationIssue(
                "policy.too_large",
                f"the policy has {len(yaml_text):,} characters; at most {MAX_YAML_CHARS:,} "
                f"are accepted",
                "",
            )
        ]
    alias = _alias_issue(yaml_text)
    if alias is not None:
        return None, [alias]
    try:
        parsed = parse_policy(yaml_text, file="<policy>")
    except PolicyError as err:
        return None, sorted(err.issues, key=lambda i: (i.line or 0, i.path))
    except RecursionError:
        return None, [ValidationIssue("policy.too_deep", "the YAML is nested too deeply", "")]
    except yaml.MarkedYAMLError as err:  # e.g. a list used as a key: not a policy's shape
        mark = err.problem_mark or err.context_mark
        return None, [
            ValidationIssue(
                "policy.yaml_syntax",
                f"not a valid policy document: {err.problem or err.context}",
                "",
                line=mark.line + 1 if mark is not None else None,
                hint="keys are plain names; write lists and mappings as values",
            )
        ]
    except Exception as err:  # the editor must answer with a message, not a server error
        logger.exception("policy text check failed")
        return None, [
            ValidationIssue("policy.unreadable", f"the text cannot be read as a policy: {err}", "")
        ]
    issue = _name_issue(yaml_text, parsed, policy=policy)
    return (None, [issue]) if issue is not None else (parsed, [])


@dataclass(frozen=True)
class Line:
    """One line of a line-numbered view of YAML."""

    number: int
    text: str
    error: bool


def numbered_lines(*, text: str, issues: Sequence[ValidationIssue] = ()) -> list[Line]:
    """The text's lines with their numbers, those an issue points at marked as errors."""
    bad = {i.line for i in issues if i.line is not None}
    return [
        Line(number=n, text=line, error=n in bad)
        for n, line in enumerate(text.splitlines() or [""], start=1)
    ]


# -- shipped examples -------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A shipped example policy a new policy can start from."""

    name: str
    title: str
    path: Path


def shipped_examples(*, lang: str) -> list[Example]:
    """The shipped policies, seed standards first, with their titles in ``lang``."""
    out: list[Example] = []
    try:
        files = shipped_policies()
    except FileNotFoundError:
        return out
    for path in files:
        parsed = _parsed_text(path.read_text(encoding="utf-8-sig"))
        if parsed is not None:
            out.append(Example(name=path.stem, title=parsed.title.get(lang), path=path))
    return out


def shipped_example_text(*, name: str) -> str | None:
    """The YAML of the shipped example ``name`` (None when there is none)."""
    for path in shipped_policies():
        if path.stem == name:
            return path.read_text(encoding="utf-8-sig")
    return None
