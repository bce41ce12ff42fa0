"""``/api/policies`` and ``/api/runs``: policies with their versions, runs with their progress,
label counts and diffs — counted over the customers the caller may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from fenji.web.accounts.access import require, visible_owners
from fenji.web.api.errors import ErrorOut, not_found
from fenji.web.api.rundiff import run_diff_page
from fenji.web.api.schemas import PolicyDetail, PolicyOut, RunDetail, RunDiffOut, RunPage
from fenji.web.api.selectors import policy_list, run_counts
from fenji.web.evaluations.models import EvaluationRun, Publication
from fenji.web.evaluations.selectors import run_get, run_list
from fenji.web.policies.models import Policy, PolicyVersion
from fenji.web.ui.language import active_lang

router = Router(tags=["policies and runs"])

MAX_LIMIT = 500


def _policy(p: Policy, version: int | None) -> dict[str, Any]:
    try:
        run = p.publication.run
    except Publication.DoesNotExist:
        run = None
    return {
        "name": p.name,
        "title": p.title,
        "published_version": version,
        "published_run_id": run.pk if run is not None else None,
        "published_as_of": run.as_of if run is not None else None,
    }


def _run(r: EvaluationRun) -> dict[str, Any]:
    return {
        "id": r.pk,
        "policy": r.policy.name,
        "version": r.policy_version.version,
        "as_of": r.as_of,
        "status": r.status,
        "progress": r.progress,
        "stage": r.stage,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "published_at": r.published_at,
    }


def _visible_run(request: HttpRequest, run_id: int) -> EvaluationRun:
    require(request.auth, "run.view")
    try:
        return run_get(run_id=run_id)
    except EvaluationRun.DoesNotExist:
        raise not_found(f"run #{run_id}") from None


def _error_for(request: HttpRequest, run: EvaluationRun) -> str:
    """Why a run failed, for those who see every customer: the message may name customers and
    values from the data, so others read that it failed, not the details."""
    if not run.error or visible_owners(request.auth) is None:
        return run.error
    return "the run failed; an administrator can see the reason"


@router.get("/policies", response={200: list[PolicyOut], 403: ErrorOut})
def list_policies(request: HttpRequest) -> list[dict[str, Any]]:
    """Every policy, its published version and its published run."""
    require(request.auth, "policy.view")
    return [_policy(p, p.published_version) for p in policy_list()]  # type: ignore[attr-defined]


@router.get("/policies/{name}", response={200: PolicyDetail, 404: ErrorOut})
def get_policy(request: HttpRequest, name: str) -> dict[str, Any]:
    """A policy: the text of its published version and the list of its versions."""
    require(request.auth, "policy.view")
    policy = policy_list().filter(name=name).first()
    if policy is None:
        raise not_found(f"policy '{name}'")
    versions = list(
        PolicyVersion.objects.filter(policy=policy)
        .select_related("created_by")
        .order_by("-version")
    )
    published = next((v for v in versions if v.is_published), None)
    return {
        **_policy(policy, published.version if published else None),
        "yaml": published.yaml if published else None,
        "versions": [
            {
                "version": v.version,
                "created_at": v.created_at,
                "created_by": v.created_by.get_username() if v.created_by else None,
                "note": v.note,
                "is_published": v.is_published,
                "published_at": v.published_at,
            }
            for v in versions
        ],
    }


@router.get("/runs", response={200: RunPage, 403: ErrorOut, 422: ErrorOut})
def list_runs(
    request: HttpRequest,
    policy: str = "",
    status: str = "",
    limit: int = Query(50, ge=1, le=MAX_LIMIT),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0),  # type: ignore[type-arg]
) -> dict[str, Any]:
    """Runs, newest as-of date first; ``policy`` and ``status`` narrow the list."""
    require(request.auth, "run.view")
    runs = run_list(policy=policy or None)
    if status:
        runs = runs.filter(status=status)
    return {
        "count": runs.count(),
        "limit": limit,
        "offset": offset,
        "items": [_run(r) for r in runs[offset : offset + limit]],
    }


@router.get("/runs/{int:run_id}", response={200: RunDetail, 404: ErrorOut})
def get_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    """A run's status and progress, and its label counts over the caller's customers."""
    run = _visible_run(request, run_id)
    counts = run_counts(run=run, user=request.auth, lang=active_lang())
    return {
        **_run(run),
        "error": _error_for(request, run),
        "counts": {
            "customers": counts.customers,
            "results": counts.results,
            "held": counts.held,
            "overridden": counts.overridden,
        },
        "summary": [
            {
                "dimension": dim,
                "title": title,
                "labels": [{"label": lbl, "count": n} for lbl, n in labels],
            }
            for dim, title, labels in counts.summary
        ],
    }


@router.get("/runs/{int:run_id}/diff", response={200: RunDiffOut, 404: ErrorOut, 422: ErrorOut})
def get_run_diff(
    request: HttpRequest,
    run_id: int,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0),  # type: ignore[type-arg]
) -> dict[str, Any]:
    """What changed from the run this one replaced: upgrades, downgrades and the migration
    matrix per dimension, and the customers who moved (biggest moves first) with both
    explanations — over the caller's customers only."""
    run = _visible_run(request, run_id)
    page = run_diff_page(run=run, user=request.auth, limit=limit, offset=offset, lang=active_lang())
    return {
        "run_id": run.pk,
        "previous_id": page.previous.pk if page.previous else None,
        "policy": run.policy.name,
        "as_of": run.as_of,
        "previous_as_of": page.previous.as_of if page.previous else None,
        "dimensions": page.dimensions,
        "movers": page.movers,
        "movers_total": page.movers_total,
        "limit": limit,
        "offset": offset,
    }
