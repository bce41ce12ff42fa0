"""The runs pages: the list of evaluation runs, starting one in the background and following
its progress, and a run's page with its label counts and what changed since the run before.

Counts and changes are narrowed to the customers the reader may see
(:mod:`fenji.web.evaluations.run_selectors`); starting a run hands it to a child process
(:mod:`fenji.web.evaluations.background`) so the request returns at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fenji.dates import parse_as_of
from fenji.web.accounts.access import can, require
from fenji.web.evaluations.background import Launch, launch_run, launch_state
from fenji.web.evaluations.diff import RunDiff
from fenji.web.evaluations.models import EvaluationRun, RunStatus
from fenji.web.evaluations.run_selectors import (
    COMPLETE,
    FINISHED,
    label_counts,
    policy_names,
    published_policy_choices,
    run_changes,
    run_for_page,
    runs_for_list,
    sees_everything,
    visible_customer_counts,
)
from fenji.web.evaluations.selectors import running_run
from fenji.web.evaluations.services import evaluation_runs_reap
from fenji.web.ui.language import active_lang
from fenji.web.ui.paging import paginate

STATUS_TEXT = {
    RunStatus.RUNNING: gettext_lazy("running"),
    RunStatus.PUBLISHED: gettext_lazy("published"),
    RunStatus.SUPERSEDED: gettext_lazy("superseded"),
    RunStatus.FAILED: gettext_lazy("failed"),
    RunStatus.ABANDONED: gettext_lazy("abandoned"),
}
STATUS_TONE = {
    RunStatus.RUNNING: "pill-info",
    RunStatus.PUBLISHED: "pill-ok",
    RunStatus.SUPERSEDED: "",
    RunStatus.FAILED: "pill-bad",
    RunStatus.ABANDONED: "pill-warn",
}
STAGE_TEXT = {
    "starting": gettext_lazy("starting"),
    "reading": gettext_lazy("reading the data"),
    "evaluating": gettext_lazy("evaluating"),
    "applying": gettext_lazy("hysteresis and overrides"),
    "writing": gettext_lazy("writing the results"),
    "publishing": gettext_lazy("publishing"),
    "published": gettext_lazy("published"),
}
TIMING_TEXT = {
    "reading": gettext_lazy("reading the data"),
    "evaluating": gettext_lazy("evaluating"),
    "applying": gettext_lazy("hysteresis and overrides"),
    "writing": gettext_lazy("writing the results"),
    "publishing": gettext_lazy("publishing"),
}
#: Movers listed on a run's page (the total is said when there are more).
MOVERS_SHOWN = 100


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("%(s)s s") % {"s": f"{seconds:.1f}"}
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return _("%(m)s min %(s)s s") % {"m": minutes, "s": f"{rest:02d}"}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)s h %(m)s min") % {"h": hours, "m": f"{minutes:02d}"}


@dataclass(frozen=True)
class RunRow:
    """A run with what its row on a page shows."""

    run: EvaluationRun
    status_text: str
    tone: str
    stage_text: str
    duration: str
    #: Customers of the run the reader may see (None: not complete, or not counted).
    customers: int | None
    finished: bool
    complete: bool


def _row(run: EvaluationRun, *, customers: int | None = None) -> RunRow:
    end = run.finished_at or (None if run.status in FINISHED else timezone.now())
    seconds = (end - run.started_at).total_seconds() if end and run.started_at else None
    return RunRow(
        run=run,
        status_text=str(STATUS_TEXT.get(run.status, run.status)),
        tone=STATUS_TONE.get(run.status, ""),
        stage_text=str(STAGE_TEXT.get(run.stage, run.stage)),
        duration=_duration(seconds),
        customers=customers,
        finished=run.status in FINISHED,
        complete=run.status in COMPLETE,
    )


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "run.view")
    names = policy_names()
    policy = request.GET.get("policy", "")
    policy = policy if policy in names else ""
    page = paginate(runs_for_list(policy=policy or None), request, per_page=25)
    everything = sees_everything(user=request.user)
    counted = visible_customer_counts(runs=page.items, user=request.user)
    rows = []
    for run in page.items:
        if everything:
            customers = (run.counts or {}).get("customers") if run.status in COMPLETE else None
        else:
            customers = counted.get(run.pk, 0) if run.status in COMPLETE else None
        rows.append(_row(run, customers=customers))
    return render(
        request,
        "evaluations/run_list.html",
        {
            "page": page,
            "rows": rows,
            "policies": names,
            "policy": policy,
            "sees_everything": everything,
            "can_start": can(request.user, "run.start"),
        },
    )


def _get_run(run_id: int) -> EvaluationRun:
    try:
        return run_for_page(run_id=run_id)
    except EvaluationRun.DoesNotExist:
        raise Http404("no such run") from None


def _progress_context(request: HttpRequest, run: EvaluationRun) -> dict[str, Any]:
    row = _row(run)
    counts = label_counts(run=run, user=request.user, lang=active_lang()) if row.complete else []
    return {
        "row": row,
        "run": run,
        "counts": counts,
        "percent": round((run.progress or 0) * 100),
        "sees_everything": sees_everything(user=request.user),
    }


@login_required
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The progress fragment, polled every second until the run has finished. With
    ``reload=1`` (on the run's own page) a finished run makes the page load again in full."""
    require(request.user, "run.view")
    run = _get_run(run_id)
    context = _progress_context(request, run)
    context["reload"] = request.GET.get("reload") == "1"
    response = render(request, "evaluations/run_progress.html", context)
    if context["reload"] and context["row"].finished:
        response["HX-Refresh"] = "true"
    return response


@dataclass(frozen=True)
class MatrixRow:
    label: str
    rank: int
    cells: list[tuple[str, int, str]]  # (to label, count, css class)


def _matrix(labels: list[str], matrix: dict[str, dict[str, int]]) -> list[MatrixRow]:
    rows = []
    for i, a in enumerate(labels):
        cells = []
        for j, b in enumerate(labels):
            n = matrix.get(a, {}).get(b, 0)
            tone = "muted" if i == j else ("up" if j < i else "down") if n else "muted"
            cells.append((b, n, tone))
        rows.append(MatrixRow(a, i, cells))
    return rows


def _diff_context(diff: RunDiff | None) -> dict[str, Any]:
    if diff is None:
        return {"diff": None}
    ranks = {d.dimension: {label: i for i, label in enumerate(d.labels)} for d in diff.dimensions}
    titles = {d.dimension: d.title for d in diff.dimensions}
    return {
        "diff": diff,
        "matrices": [(d, _matrix(d.labels, d.matrix)) for d in diff.dimensions],
        "movers": [
            {
                "move": m,
                "title": titles.get(m.dimension, m.dimension),
                "from_rank": ranks.get(m.dimension, {}).get(m.from_label),
                "to_rank": ranks.get(m.dimension, {}).get(m.to_label),
                "direction": "" if not m.steps else ("up" if m.steps > 0 else "down"),
            }
            for m in diff.movers
        ],
        "more_movers": max(0, diff.movers_total - len(diff.movers)),
    }


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    require(request.user, "run.view")
    run = _get_run(run_id)
    context = _progress_context(request, run)
    everything = context["sees_everything"]
    row: RunRow = context["row"]
    visible = None
    if row.complete and not everything:
        visible = visible_customer_counts(runs=[run], user=request.user).get(run.pk, 0)
    timings = [
        (TIMING_TEXT.get(name, name), _duration(float(seconds)))
        for name, seconds in (run.timings or {}).items()
    ]
    context.update(
        {
            "visible_customers": visible,
            "timings": timings,
            "run_counts": run.counts or {},
            **_diff_context(
                run_changes(
                    run=run, user=request.user, lang=active_lang(), movers_limit=MOVERS_SHOWN
                )
            ),
        }
    )
    return render(request, "evaluations/run_detail.html", context)


# --- starting a run ---------------------------------------------------------------------------


def last_month_end(today: date | None = None) -> date:
    """The month-end before ``today``: the as-of date grades are usually made at."""
    day = today or timezone.localdate()
    return day.replace(day=1) - timedelta(days=1)


class RunStartForm(forms.Form):
    policy = forms.ChoiceField(label=gettext_lazy("Policy"))
    as_of = forms.CharField(
        label=gettext_lazy("As-of date"),
        max_length=40,
        help_text=gettext_lazy(
            "A month-end as a rule: 2026-01-31, 2026/1/31, 2026年1月31日, or a month (2026-01)."
        ),
    )
    lang = forms.ChoiceField(
        label=gettext_lazy("Language of the explanations"),
        choices=[("zh", "中文"), ("en", "English")],
        initial="zh",
        required=False,
    )

    def __init__(self, *args: Any, policies: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["policy"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = policies

    def clean_as_of(self) -> date:
        text = self.cleaned_data["as_of"]
        try:
            day = parse_as_of(text)
        except ValueError:
            raise forms.ValidationError(
                _(
                    "“%(value)s” is not a date. Write it as 2026-01-31, 2026/1/31, "
                    "2026年1月31日, or a month such as 2026-01."
                )
                % {"value": text}
            ) from None
        if day > timezone.localdate():
            raise forms.ValidationError(
                _(
                    "%(day)s is in the future. Grades are made at a past date, "
                    "usually the last month-end."
                )
                % {"day": day.isoformat()}
            )
        return day


def _in_progress(policy: str) -> EvaluationRun | None:
    """The run of ``policy`` in progress now. A run left ``running`` by a process that died
    is marked abandoned first (when no run holds the lock), so it does not block for ever."""
    found = running_run(policy=policy)
    if found is None:
        return None
    evaluation_runs_reap(policy=policy)
    return running_run(policy=policy)


@login_required
def run_start(request: HttpRequest) -> HttpResponse:
    require(request.user, "run.start")
    choices = published_policy_choices()
    initial = {"as_of": last_month_end().isoformat(), "policy": request.GET.get("policy", "")}
    form = RunStartForm(request.POST or None, policies=choices, initial=initial)
    running = None
    if request.method == "POST" and form.is_valid():
        policy, as_of = form.cleaned_data["policy"], form.cleaned_data["as_of"]
        running = _in_progress(policy)
        if running is None:
            launch = launch_run(
                policy=policy,
                as_of=as_of,
                user=request.user,
                lang=form.cleaned_data["lang"] or "zh",
            )
            return redirect("evaluations:run_launch", key=launch.key())
    return render(
        request,
        "evaluations/run_start.html",
        {"form": form, "running": _row(running) if running else None, "has_policies": choices},
    )


def _launch_context(request: HttpRequest, key: str) -> dict[str, Any]:
    launch = Launch.from_key(key)
    if launch is None:
        raise Http404("no such launch")
    state = launch_state(launch=launch)
    context: dict[str, Any] = {"launch": launch, "key": key, "state": state}
    if state.run is not None:
        context.update(_progress_context(request, state.run))
    return context


@login_required
def run_launch(request: HttpRequest, key: str) -> HttpResponse:
    """The page a started run is followed on: starting, then its progress, then the result."""
    require(request.user, "run.start")
    return render(request, "evaluations/run_launch.html", _launch_context(request, key))


@login_required
def run_launch_status(request: HttpRequest, key: str) -> HttpResponse:
    require(request.user, "run.start")
    return render(request, "evaluations/run_launch_status.html", _launch_context(request, key))
