"""Evaluation runs and overrides: start a run, run a series of month-ends, override a label.

A run, step by step (each step is a ``stage`` other processes can see on the run row):

1. take the policy's run lock (:mod:`locks`) or refuse, naming the run in progress; runs left
   ``running`` by dead processes are marked ``abandoned`` and their rows deleted;
2. ``reading``: customers and facts in bulk as Arrow, in one snapshot (:mod:`facts`);
3. ``evaluating``: the engine, with explanations (every label keeps its ``why``);
4. ``applying``: hysteresis against the last run before this as-of date, then overrides, in
   parts of customers, each handed to the writer as soon as it is made;
5. ``writing``: the rows in bulk under the new run's id, where no reader looks — the labels
   (:class:`RunResult`) and the customer rows with revenue and metrics (:class:`RunCustomer`),
   written (by another process or connections) from the first part on;
6. ``publishing``: one transaction points :class:`Publication` at the new run and marks the
   previous one superseded. Readers follow the publication, so they see one run or the other.

A process killed anywhere leaves the publication untouched; its rows are unreachable and the
next run removes them. Nothing here depends on the process finishing its ``finally`` blocks.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from fenji.dates import month_ends
from fenji.engine.compiler import CompiledPolicy, compile_policy
from fenji.engine.evaluate import evaluate_tables
from fenji.engine.labels import label_order
from fenji.policy.models import Policy as PolicyModel
from fenji.web.accounts.services import audit
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations import arrowdb
from fenji.web.evaluations.apply import BASELINE_SCHEMA, OVERRIDE_SCHEMA, RunRows
from fenji.web.evaluations.customer_rows import customer_rows
from fenji.web.evaluations.errors import OverrideError, RunError, RunRefused
from fenji.web.evaluations.facts import FactTables, expected_columns, read_facts
from fenji.web.evaluations.locks import RunLock, run_lock
from fenji.web.evaluations.models import (
    EvaluationRun,
    Override,
    Publication,
    RunCustomer,
    RunResult,
    RunStatus,
)
from fenji.web.policies.models import Policy, PolicyVersion
from fenji.web.policies.selectors import published_version
from fenji.web.policies.services import parsed_policy

#: ``progress(stage, fraction)``: called as a run moves on (fraction of the whole run, 0-1).
Progress = Callable[[str, float], None]

#: Where each stage starts, as a fraction of a run (writing takes the rest of the way).
STAGE_START = {
    "starting": 0.0,
    "reading": 0.02,
    "evaluating": 0.3,
    "applying": 0.55,
    "writing": 0.6,
    "publishing": 0.98,
}

#: Test hook: ``FENJI_TEST_RUN_PAUSE=<point>`` makes a run print ``fenji-run-paused:<point>`` to
#: stderr and sleep at that point, so that a test can kill it there with SIGKILL. Points:
#: locked, created, read, evaluated, written_batch, written, publishing (inside the
#: publishing transaction).
PAUSE_ENV = "FENJI_TEST_RUN_PAUSE"


def _pause(point: str) -> None:
    if os.environ.get(PAUSE_ENV) == point:
        print(f"fenji-run-paused:{point}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("FENJI_TEST_RUN_PAUSE_SECONDS", "120")))


def _jsonable(value: Any) -> Any:
    """Summaries hold Decimals: kept as exact strings in JSON."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _note(run: EvaluationRun, **fields: Any) -> None:
    """Update a running run's progress fields without waiting for the disk.

    A run notes its stage a dozen times; on PostgreSQL each autocommitted update would wait for
    its log flush (milliseconds each, on the run's critical path). A progress note lost in a
    crash is harmless — the run is abandoned then anyway — and the publishing transaction,
    which does wait, flushes every note before it. Inside a caller's transaction the update
    simply joins it."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        EvaluationRun.objects.filter(pk=run.pk).update(**fields)
        return
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit TO OFF")
        EvaluationRun.objects.filter(pk=run.pk).update(**fields)


def _running_message(policy: str) -> tuple[str, int | None]:
    run = (
        EvaluationRun.objects.filter(policy__name=policy, status=RunStatus.RUNNING)
        .order_by("-id")
        .first()
    )
    if run is None:
        return (
            f"another evaluation run of policy '{policy}' is starting; only one run per policy "
            f"runs at a time: wait until it has finished and try again",
            None,
        )
    return (
        f"evaluation run #{run.pk} of policy '{policy}' (as of {run.as_of}, started "
        f"{timezone.localtime(run.started_at):%Y-%m-%d %H:%M:%S}, process {run.pid}, "
        f"stage '{run.stage}', {run.progress:.0%}) is still running; only one run per policy "
        f"runs at a time: wait until it has finished and try again",
        run.pk,
    )


#: How long a run waits for a busy lock before it refuses: a run killed a moment ago lets its
#: lock go only when its worker process (which holds the lock too) has died in turn.
LOCK_GRACE_SECONDS = 2.0


def _acquire(lock: RunLock) -> bool:
    """Take ``lock``, waiting up to :data:`LOCK_GRACE_SECONDS` for it to come free."""
    deadline = time.monotonic() + LOCK_GRACE_SECONDS
    while not lock.try_acquire():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@contextlib.contextmanager
def _exclusive(policy: str) -> Iterator[RunLock]:
    """Hold the run lock of ``policy``, or raise :class:`RunRefused` naming the run."""
    lock = run_lock(policy)
    if not _acquire(lock):
        message, run_id = _running_message(policy)
        raise RunRefused(message, running_run_id=run_id)
    try:
        yield lock
    finally:
        lock.release()


#: The tables a run writes under its id before it is published.
RUN_ROWS = (RunResult, RunCustomer)


def _delete_rows(*, run_ids: Iterable[int] | QuerySet[Any, Any]) -> None:
    """Delete the rows of the runs ``run_ids`` (ids, or a query of runs) from every table a
    run writes: nothing of an unpublished run is left behind."""
    for model in RUN_ROWS:
        model.objects.filter(run_id__in=run_ids).delete()


def _reap(policy: Policy) -> list[int]:
    """Runs left ``running`` by dead processes (we hold the lock: nobody else runs) become
    ``abandoned``, and rows of unpublished runs go."""
    stale = list(EvaluationRun.objects.filter(policy=policy, status=RunStatus.RUNNING))
    for run in stale:
        _delete_rows(run_ids=[run.pk])
        EvaluationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.ABANDONED,
            finished_at=timezone.now(),
            error=(
                f"process {run.pid} stopped at stage '{run.stage}' before the run was "
                f"published; its results were removed"
            ),
        )
    dead = EvaluationRun.objects.filter(
        policy=policy, status__in=[RunStatus.FAILED, RunStatus.ABANDONED]
    ).values("pk")
    _delete_rows(run_ids=dead)
    return [r.pk for r in stale]


class _Runner:
    """Runs of one policy under one lock; facts are read once and reused for a series."""

    def __init__(
        self,
        *,
        policy: Policy,
        version: PolicyVersion,
        lock: RunLock,
        user: Any,
        progress: Progress | None,
        lang: str,
    ) -> None:
        self.policy = policy
        self.version = version
        self.parsed: PolicyModel = parsed_policy(version)
        self.lock = lock
        self.user = user if getattr(user, "is_authenticated", False) else None
        self.progress = progress
        self.lang = lang
        self.facts: FactTables | None = None

    def _stage(self, run: EvaluationRun, stage: str, fraction: float | None = None) -> None:
        value = STAGE_START[stage] if fraction is None else fraction
        _note(run, stage=stage, progress=value)
        run.stage, run.progress = stage, value
        if self.progress is not None:
            self.progress(stage, value)

    def run(self, as_of: date, *, upto: date) -> EvaluationRun:
        run = EvaluationRun.objects.create(
            policy=self.policy,
            policy_version=self.version,
            as_of=as_of,
            status=RunStatus.RUNNING,
            stage="starting",
            pid=os.getpid(),
            created_by=self.user,
            lang=self.lang,
        )
        _pause("created")
        try:
            return self._steps(run, upto)
        except BaseException as err:
            self._fail(run, err)
            raise

    def _fail(self, run: EvaluationRun, err: BaseException) -> None:
        with contextlib.suppress(Exception):
            _delete_rows(run_ids=[run.pk])
            EvaluationRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED,
                finished_at=timezone.now(),
                error=f"{type(err).__name__}: {err}"[:5000],
            )

    def _steps(self, run: EvaluationRun, upto: date) -> EvaluationRun:
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round(now - clock, 4)
            clock = now

        compiled: CompiledPolicy | None = None
        # Started first, the writer (a process on SQLite) reads the facts too, and is ready
        # when the rows are.
        with arrowdb.RowWriter(pass_fds=self.lock.inheritable()) as w:
            if self.facts is None:
                self._stage(run, "reading")
                self.facts, compiled = self._read_and_compile(run.as_of, upto, w.fetch_all)
                lap("reading")
            facts = self.facts
            _pause("read")

            self._stage(run, "evaluating")
            return self._evaluate_and_write(run, facts, compiled, w, timings, lap)

    def _evaluate_and_write(
        self,
        run: EvaluationRun,
        facts: FactTables,
        compiled: CompiledPolicy | None,
        writer: arrowdb.RowWriter,
        timings: dict[str, float],
        lap: Callable[[str], None],
    ) -> EvaluationRun:
        try:
            evaluation = evaluate_tables(
                self.parsed,
                facts.tables,
                run.as_of,
                lang=self.lang,
                explain=True,
                compiled=compiled,
            )
        except ValueError as err:  # bad data or a policy the data cannot serve
            raise RunError("run.evaluation_failed", str(err)) from err
        try:
            result = evaluation.table
            lap("evaluating")
            _pause("evaluated")

            self._stage(run, "applying")
            # The result rows go to the writer part by part, so the first part is written
            # while the next ones are made; then the customer rows (revenue and metrics).
            with RunRows(
                policy=self.parsed,
                result=result,
                customer_ids=facts.customer_ids,
                line_ids=facts.line_ids,
                run_id=run.pk,
                baseline=self._baseline(run, writer.fetch_all),
                overrides=_active_overrides(policy=self.policy, as_of=run.as_of),
                as_of=run.as_of.isoformat(),
                lang=self.lang,
            ) as made:
                for part in made.parts():
                    writer.send(RunResult._meta.db_table, part)
                customers = customer_rows(
                    policy=self.parsed,
                    result=result,
                    customer_ids=facts.customer_ids,
                    line_ids=facts.line_ids,
                    run_id=run.pk,
                )
                writer.send(RunCustomer._meta.db_table, customers)
                applied = made.finish()
            lap("applying")

            self._stage(run, "writing")
            # The summary is of the labels that apply: the engine's (of computed labels) unless
            # some were held or overridden. The engine's is computed in DuckDB, on the
            # evaluation's connection, while the rows are being written.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fenji-summary") as pool:
                pending = pool.submit(evaluation.summary) if applied.summary is None else None
                self._wait_written(run, writer, applied.rows.num_rows + customers.num_rows)
                applies = pending.result() if pending is not None else applied.summary
                assert applies is not None
                summary = _jsonable(applies.to_dict())
        finally:
            evaluation.close()
        lap("writing")
        _pause("written")

        run.summary = summary
        run.counts = {
            "customers": facts.customer_ids.num_rows,
            "evaluated": result.num_rows,
            "results": applied.rows.num_rows,
            "customer_rows": customers.num_rows,
            "facts": facts.rows,
            "held": applied.held,
            "overridden": applied.overridden,
        }
        self._stage(run, "publishing")
        self._publish(run, timings)
        lap("publishing")
        _note(run, timings=timings)
        run.timings = timings
        if self.progress is not None:
            self.progress("published", 1.0)
        return run

    def _wait_written(self, run: EvaluationRun, writer: arrowdb.RowWriter, rows: int) -> None:
        """Wait for the run's rows to be written, showing the progress on the run."""
        span = STAGE_START["publishing"] - STAGE_START["writing"]

        def written(done: int) -> None:
            self._stage(run, "writing", STAGE_START["writing"] + span * done / max(rows, 1))
            _pause("written_batch")

        writer.finish(on_batch=written)

    def _read_and_compile(
        self, as_of: date, upto: date, fetch: arrowdb.FetchAll
    ) -> tuple[FactTables, CompiledPolicy | None]:
        """Read the facts while another thread compiles the policy: the read waits on the
        database (or the reader process), the compiler is Python, and the columns it needs are
        known beforehand. A compilation over other columns than those read is dropped."""
        columns = expected_columns(policy=self.parsed)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fenji-compile") as pool:
            future = pool.submit(self._compile, as_of, columns)
            facts = read_facts(policy=self.parsed, upto=upto, fetch=fetch)
            try:
                compiled: CompiledPolicy | None = future.result()
            except Exception:
                compiled = None  # the evaluation compiles again and reports the problem
        read = {name: set(t.column_names) for name, t in facts.tables.items()}
        return facts, compiled if read == columns else None

    def _compile(self, as_of: date, columns: dict[str, set[str]]) -> CompiledPolicy:
        """The policy compiled, with its SQL text made (both are Python work that can go on
        while the facts are read)."""
        compiled = compile_policy(self.parsed, as_of, columns, lang=self.lang, explain=True)
        compiled.sql()
        return compiled

    def _baseline(self, run: EvaluationRun, fetch: arrowdb.FetchAll) -> pa.Table | None:
        """Hysteresis compares with the last successful run before this as-of date (not the
        published one: re-running a date must not count that date twice)."""
        dims = [d for d, spec in self.parsed.dimensions.items() if spec.hysteresis is not None]
        if not dims:
            return None
        previous = (
            EvaluationRun.objects.filter(
                policy=self.policy,
                as_of__lt=run.as_of,
                status__in=[RunStatus.PUBLISHED, RunStatus.SUPERSEDED],
            )
            .order_by("-as_of", "-id")
            .first()
        )
        if previous is None:
            return None
        d = arrowdb.dialect()
        names = ", ".join(arrowdb.quote(c) for c in ("customer_id", "business_line_id"))
        wanted = ", ".join("'" + dim + "'" for dim in dims)  # validated policy names
        sql = (
            f"SELECT {names}, dimension, {d.select('text', 'base_label')}, held_runs "
            f"FROM {arrowdb.quote(RunResult._meta.db_table)} "
            f"WHERE run_id = {int(previous.pk)} AND dimension IN ({wanted})"
        )
        raw = fetch({"baseline": sql})["baseline"]
        table = arrowdb.finish(
            raw,
            [
                ("customer_id", "id", False),
                ("business_line_id", "id", False),
                ("dimension", "text", False),
                ("base_label", "text", True),
                ("held_runs", "int", False),
            ],
        )
        return table.cast(BASELINE_SCHEMA)

    def _publish(self, run: EvaluationRun, timings: dict[str, float]) -> None:
        with transaction.atomic():
            publication = Publication.objects.select_for_update().filter(policy=self.policy).first()
            previous = publication.run if publication is not None else None
            _pause("publishing")
            if not self.lock.held():
                raise RunError(
                    "run.lock_lost",
                    f"run #{run.pk} lost its lock on policy '{self.policy.name}' (the database "
                    f"connection holding it closed); it was not published",
                )
            now = timezone.now()
            if previous is not None:
                EvaluationRun.objects.filter(pk=previous.pk).update(status=RunStatus.SUPERSEDED)
            run.status = RunStatus.PUBLISHED
            run.previous = previous
            run.published_at = now
            run.finished_at = now
            run.progress = 1.0
            run.stage = "published"
            run.timings = timings
            run.save(
                update_fields=[
                    "status",
                    "previous",
                    "published_at",
                    "finished_at",
                    "progress",
                    "stage",
                    "summary",
                    "counts",
                    "timings",
                ]
            )
            if publication is None:
                Publication.objects.create(policy=self.policy, run=run)
            else:
                publication.run = run
                publication.save(update_fields=["run", "published_at"])
            audit(
                action="run.published",
                user=self.user,
                object_type="evaluation_run",
                object_id=run.pk,
                details={
                    "policy": self.policy.name,
                    "version": self.version.version,
                    "as_of": run.as_of.isoformat(),
                    "previous": previous.pk if previous is not None else None,
                },
            )


def _policy_and_version(name: str) -> tuple[Policy, PolicyVersion]:
    try:
        version = published_version(name=name)
    except LookupError as err:
        raise RunError("run.no_published_policy", str(err)) from err
    return version.policy, version


def evaluation_run_start(
    *,
    policy: str,
    as_of: date,
    user: Any = None,
    progress: Progress | None = None,
    lang: str = "zh",
) -> EvaluationRun:
    """Evaluate the published version of ``policy`` at ``as_of`` over the database's facts
    and publish the result atomically; returns the published run.

    Refused with :class:`RunRefused` while another run of the policy is in progress; a failure
    marks the run ``failed`` (the previous run stays published) and raises. Meant to be called
    outside a transaction, so that other processes see its progress and the bulk paths can
    be used; inside one it still works, reading and writing through the caller's connection
    (slower), and nothing is visible to others until the caller commits."""
    policy_obj, version = _policy_and_version(policy)
    with _exclusive(policy) as lock:
        _pause("locked")
        _reap(policy_obj)
        runner = _Runner(
            policy=policy_obj, version=version, lock=lock, user=user, progress=progress, lang=lang
        )
        return runner.run(as_of, upto=as_of)


def evaluation_run_series(
    *,
    policy: str,
    start: date,
    end: date,
    user: Any = None,
    progress: Callable[[int, int, date, str, float], None] | None = None,
    lang: str = "zh",
) -> list[EvaluationRun]:
    """Run and publish every month-end from ``start`` to ``end`` (inclusive), oldest first,
    under one lock and over one read of the facts, building the history (and the hysteresis
    counts) in one go. ``progress(i, n, as_of, stage, fraction)`` follows each run."""
    dates = month_ends(start, end)
    if not dates:
        raise RunError(
            "run.empty_series",
            f"there is no month-end between {start} and {end}; widen the range",
        )
    policy_obj, version = _policy_and_version(policy)
    runs: list[EvaluationRun] = []
    with _exclusive(policy) as lock:
        _pause("locked")
        _reap(policy_obj)
        runner = _Runner(
            policy=policy_obj, version=version, lock=lock, user=user, progress=None, lang=lang
        )
        for i, day in enumerate(dates):
            if progress is not None:

                def step(stage: str, fraction: float, i: int = i, day: date = day) -> None:
                    assert progress is not None
                    progress(i, len(dates), day, stage, fraction)

                runner.progress = step
            runs.append(runner.run(day, upto=dates[-1]))
    return runs


def evaluation_runs_reap(*, policy: str) -> list[int]:
    """Mark runs of dead processes ``abandoned`` and remove their rows, if no run of ``policy``
    is in progress now; returns the ids marked. (Every run start does this too.)"""
    try:
        policy_obj = Policy.objects.get(name=policy)
    except Policy.DoesNotExist:
        return []
    lock = run_lock(policy)
    if not _acquire(lock):
        return []
    try:
        return _reap(policy_obj)
    finally:
        lock.release()


def _active_overrides(*, policy: Policy, as_of: date) -> pa.Table:
    """Overrides of ``policy`` in force on ``as_of`` (not revoked, not expired)."""
    rows = list(
        Override.objects.filter(policy=policy, revoked_at__isnull=True)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=as_of))
        .values_list("id", "customer_id", "business_line_id", "dimension", "label")
    )
    columns: list[tuple[Any, ...]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in OVERRIDE_SCHEMA]
    )
    return pa.table(
        [pa.array(list(c), f.type) for c, f in zip(columns, OVERRIDE_SCHEMA, strict=True)],
        schema=OVERRIDE_SCHEMA,
    )


def _customer(customer: Customer | str) -> Customer:
    if isinstance(customer, Customer):
        return customer
    try:
        return Customer.objects.get(external_id=customer)
    except Customer.DoesNotExist:
        raise OverrideError(
            "override.unknown_customer", f"there is no customer with id '{customer}'"
        ) from None


def override_create(
    *,
    policy: str,
    customer: Customer | str,
    dimension: str,
    label: str,
    reason: str,
    expires_on: date | None = None,
    user: Any = None,
    business_line: str | None = None,
) -> Override:
    """Set ``label`` by hand for ``customer`` in ``dimension`` of ``policy`` (人工调整), from
    the next run on and until ``expires_on`` (inclusive, compared with each run's as-of date).

    The label must be one the dimension can give, and a reason is required; the override is
    audited. ``business_line`` limits it to one line (policies graded per customer and line)."""
    if not reason or not reason.strip():
        raise OverrideError(
            "override.reason_required", "an override needs a reason (why the label is set by hand)"
        )
    policy_obj, version = _policy_and_version(policy)
    parsed = parsed_policy(version)
    spec = parsed.dimensions.get(dimension)
    if spec is None:
        raise OverrideError(
            "override.unknown_dimension",
            f"policy '{policy}' has no dimension '{dimension}'; "
            f"its dimensions are {', '.join(parsed.dimensions)}",
        )
    labels = label_order(spec)
    if label not in labels:
        raise OverrideError(
            "override.unknown_label",
            f"dimension '{dimension}' of policy '{policy}' cannot give label '{label}'; "
            f"choose one of {', '.join(labels)}",
        )
    if expires_on is not None and expires_on < timezone.localdate():
        raise OverrideError(
            "override.expired",
            f"expiry {expires_on} is in the past; give a date from today on, or none",
        )
    line = None
    if business_line is not None:
        line = BusinessLine.objects.filter(code=business_line).first()
        if line is None:
            raise OverrideError(
                "override.unknown_business_line", f"there is no business line '{business_line}'"
            )
    cust = _customer(customer)
    real_user = user if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        override = Override.objects.create(
            policy=policy_obj,
            customer=cust,
            business_line=line,
            dimension=dimension,
            label=label,
            reason=reason.strip(),
            expires_on=expires_on,
            author=real_user,
        )
        audit(
            action="override.created",
            user=user,
            object_type="override",
            object_id=override.pk,
            details={
                "policy": policy,
                "customer": cust.external_id,
                "business_line": business_line,
                "dimension": dimension,
                "label": label,
                "reason": override.reason,
                "expires_on": expires_on.isoformat() if expires_on else None,
            },
        )
    return override


def override_revoke(*, override: Override | int, user: Any = None, reason: str = "") -> Override:
    """End an override now: runs from now on give the label as computed again. Audited; the
    override stays on record (and on the runs it applied to)."""
    obj = (
        override if isinstance(override, Override) else Override.objects.filter(pk=override).first()
    )
    if obj is None:
        raise OverrideError("override.not_found", f"there is no override #{override}")
    if obj.revoked_at is not None:
        raise OverrideError(
            "override.already_revoked",
            f"override #{obj.pk} was revoked on {timezone.localtime(obj.revoked_at):%Y-%m-%d}",
        )
    with transaction.atomic():
        obj.revoked_at = timezone.now()
        obj.save(update_fields=["revoked_at"])
        audit(
            action="override.revoked",
            user=user,
            object_type="override",
            object_id=obj.pk,
            details={"reason": reason, "customer_id": obj.customer_id, "label": obj.label},
        )
    return obj
