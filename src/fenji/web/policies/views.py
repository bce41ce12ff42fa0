"""Policy pages: list, a version (YAML and summary), edit with validation, simulate, publish,
compare. Thin: reading in :mod:`selectors`, writing in :mod:`services`, the simulation in
:mod:`simulate`, words in :mod:`describe` and diffs in :mod:`compare`."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fenji.policy.validate import PolicyError, ValidationIssue
from fenji.web.accounts.access import can, require
from fenji.web.evaluations.selectors import published_run
from fenji.web.policies.compare import compare_versions
from fenji.web.policies.describe import describe_policy
from fenji.web.policies.models import Policy, PolicyVersion
from fenji.web.policies.selectors import (
    numbered_lines,
    parsed_or_none,
    policy_get,
    policy_rows,
    policy_text_check,
    shipped_example_text,
    shipped_examples,
    version_list,
    version_pick,
    version_status,
)
from fenji.web.policies.services import policy_draft_save, policy_version_publish
from fenji.web.policies.simulate import (
    DIRECTIONS,
    SimulationError,
    default_as_of,
    policy_simulate,
)
from fenji.web.ui.language import active_lang


def _policy(name: str) -> Policy:
    try:
        return policy_get(name=name)
    except Policy.DoesNotExist:
        raise Http404(name) from None


def _version(versions: list[PolicyVersion], number: int | None) -> PolicyVersion:
    version = version_pick(versions, number)
    if version is None:
        raise Http404(str(number))
    return version


def _runs_url() -> str:
    try:
        return reverse("evaluations:runs")
    except NoReverseMatch:
        return ""


def _version_url(version: PolicyVersion) -> str:
    return reverse("policies:version", args=[version.policy.name, version.version])


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@login_required
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "policy.view")
    return render(
        request,
        "policies/list.html",
        {"rows": policy_rows(lang=active_lang()), "can_edit": can(request.user, "policy.edit")},
    )


@login_required
@require_GET
def policy_detail(request: HttpRequest, name: str, version: int | None = None) -> HttpResponse:
    require(request.user, "policy.view")
    policy = _policy(name)
    versions = version_list(policy=policy)
    current = _version(versions, version)
    parsed = parsed_or_none(current)
    published = next((v for v in versions if v.is_published), None)
    others = [v for v in versions if v.pk != current.pk]
    return render(
        request,
        "policies/detail.html",
        {
            "policy": policy,
            "version": current,
            "status": version_status(current),
            "versions": [(v, version_status(v)) for v in versions],
            "published": published,
            "compare_with": published
            if published and published.pk != current.pk
            else (others[0] if others else None),
            "summary": describe_policy(parsed, active_lang()) if parsed is not None else None,
            "lines": numbered_lines(text=current.yaml),
            "run": published_run(policy=policy.name),
            "runs_url": _runs_url(),
            "just_published": request.GET.get("published") == "1" and current.is_published,
            "can_edit": can(request.user, "policy.edit"),
            "can_publish": can(request.user, "policy.publish"),
            "tab": "version",
        },
    )


def _editor(
    request: HttpRequest,
    *,
    policy: Policy | None,
    text: str,
    note: str = "",
    issues: list[ValidationIssue] | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    context: dict[str, Any] = {
        "policy": policy,
        "text": text,
        "note": note,
        "issues": issues or [],
        "lines": numbered_lines(text=text, issues=issues or []) if issues else [],
        "tab": "edit",
        "can_edit": True,
        "can_publish": can(request.user, "policy.publish"),
        **(extra or {}),
    }
    return render(request, "policies/edit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, name: str) -> HttpResponse:
    require(request.user, "policy.edit")
    policy = _policy(name)
    versions = version_list(policy=policy)
    extra = {"versions": [(v, version_status(v)) for v in versions]}
    if request.method == "POST":
        text = request.POST.get("yaml", "")
        note = request.POST.get("note", "")
        try:
            saved = policy_draft_save(yaml_text=text, policy=policy, user=request.user, note=note)
        except PolicyError as err:
            return _editor(
                request, policy=policy, text=text, note=note, issues=err.issues, extra=extra
            )
        messages.success(request, _("Saved as draft version %(v)s.") % {"v": saved.version})
        return HttpResponseRedirect(_version_url(saved))
    source = _version(versions, _int(request.GET.get("from")))
    extra["source"] = source
    return _editor(request, policy=policy, text=source.yaml, extra=extra)


@login_required
@require_http_methods(["GET", "POST"])
def policy_new(request: HttpRequest) -> HttpResponse:
    require(request.user, "policy.edit")
    examples = shipped_examples(lang=active_lang())
    extra: dict[str, Any] = {"examples": examples, "tab": "new"}
    if request.method == "POST":
        text = request.POST.get("yaml", "")
        note = request.POST.get("note", "")
        try:
            saved = policy_draft_save(yaml_text=text, policy=None, user=request.user, note=note)
        except PolicyError as err:
            return _editor(
                request, policy=None, text=text, note=note, issues=err.issues, extra=extra
            )
        messages.success(
            request,
            _("Policy %(name)s created as draft version %(v)s.")
            % {"name": saved.policy.name, "v": saved.version},
        )
        return HttpResponseRedirect(_version_url(saved))
    chosen = request.GET.get("example") or (examples[0].name if examples else "")
    text = shipped_example_text(name=chosen) if chosen else None
    if text is None:
        chosen, text = "", ""
    extra["example"] = chosen
    return _editor(request, policy=None, text=text, extra=extra)


@login_required
@require_POST
def policy_check(request: HttpRequest) -> HttpResponse:
    """Validate the editor's text (HTMX): every issue with its line, and the text with those
    lines marked; when valid, the policy in words."""
    require(request.user, "policy.edit")
    text = request.POST.get("yaml", "")
    parsed, issues = policy_text_check(yaml_text=text, policy=request.POST.get("policy") or None)
    return render(
        request,
        "policies/_check.html",
        {
            "issues": issues,
            "lines": numbered_lines(text=text, issues=issues),
            "summary": describe_policy(parsed, active_lang()) if parsed is not None else None,
        },
    )


def _as_of(value: str | None, default: date) -> tuple[date, str]:
    if not value:
        return default, ""
    try:
        return date.fromisoformat(value), ""
    except ValueError:
        return default, _("'%(value)s' is not a date; use YYYY-MM-DD.") % {"value": value}


@login_required
@require_GET
def policy_simulation(request: HttpRequest, name: str, version: int) -> HttpResponse:
    """The simulation page. The evaluation takes seconds, so the page comes first and fetches
    the result itself (HTMX); ``now=1`` computes it in the page (no script needed)."""
    require(request.user, "policy.edit")
    policy = _policy(name)
    versions = version_list(policy=policy)
    current = _version(versions, version)
    as_of, as_of_error = _as_of(request.GET.get("as_of"), default_as_of(policy=name))
    dimension = request.GET.get("dimension") or None
    direction = request.GET.get("direction") if request.GET.get("direction") in DIRECTIONS else None
    parsed = parsed_or_none(current)
    context: dict[str, Any] = {
        "policy": policy,
        "version": current,
        "status": version_status(current),
        "as_of": as_of,
        "as_of_error": as_of_error,
        "dimension": dimension,
        "direction": direction,
        "dimensions": list(parsed.dimensions) if parsed is not None else [],
        "query": request.GET.urlencode(),
        "tab": "simulate",
        "can_edit": True,
        "can_publish": can(request.user, "policy.publish"),
    }
    htmx = request.headers.get("HX-Request") == "true"
    if htmx or request.GET.get("now") == "1":
        try:
            context["simulation"] = policy_simulate(
                version=current,
                user=request.user,
                as_of=as_of,
                dimension=dimension,
                direction=direction,
                lang=active_lang(),
            )
        except SimulationError as err:
            context["error"] = err.message
    template = "policies/_simulation.html" if htmx else "policies/simulate.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def policy_publish(request: HttpRequest, name: str, version: int) -> HttpResponse:
    require(request.user, "policy.publish")
    policy = _policy(name)
    versions = version_list(policy=policy)
    current = _version(versions, version)
    if current.is_published:
        messages.info(request, _("Version %(v)s is already published.") % {"v": current.version})
        return HttpResponseRedirect(_version_url(current))
    if parsed_or_none(current) is None:
        messages.error(
            request,
            _("Version %(v)s does not validate any more; save a corrected draft first.")
            % {"v": current.version},
        )
        return HttpResponseRedirect(_version_url(current))
    if request.method == "POST":
        policy_version_publish(version=current, user=request.user)
        messages.success(
            request,
            _("Version %(v)s of %(name)s is published.")
            % {"v": current.version, "name": policy.name},
        )
        return HttpResponseRedirect(_version_url(current) + "?published=1")
    context: dict[str, Any] = {
        "policy": policy,
        "version": current,
        "status": version_status(current),
        "published": next((v for v in versions if v.is_published), None),
        "tab": "publish",
        "can_edit": can(request.user, "policy.edit"),
        "can_publish": True,
    }
    try:
        context["simulation"] = policy_simulate(
            version=current, user=request.user, lang=active_lang()
        )
    except SimulationError as err:
        context["error"] = err.message
    return render(request, "policies/publish.html", context)


@login_required
@require_GET
def policy_compare(request: HttpRequest, name: str) -> HttpResponse:
    require(request.user, "policy.view")
    policy = _policy(name)
    versions = version_list(policy=policy)
    context: dict[str, Any] = {
        "policy": policy,
        "versions": [(v, version_status(v)) for v in versions],
        "tab": "compare",
        "can_edit": can(request.user, "policy.edit"),
        "can_publish": can(request.user, "policy.publish"),
    }
    if len(versions) >= 2:
        published = next((v for v in versions if v.is_published), None)
        newest = versions[0]
        default_a = (
            published if published is not None and published.pk != newest.pk else versions[1]
        )
        a = _version(versions, _int(request.GET.get("a")) or default_a.version)
        b = _version(versions, _int(request.GET.get("b")) or newest.version)
        context["comparison"] = compare_versions(a=a, b=b, lang=active_lang())
    return render(request, "policies/compare.html", context)
