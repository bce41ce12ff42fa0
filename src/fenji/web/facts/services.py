"""Imports of customers and facts: the service the CLI (``fenji import``) and the web UI call.

An import is all or nothing. Every file is read and checked completely — values by
:mod:`fenji.io`, customers and lengths against the database — before anything is written, and
the writes happen in one transaction; a file with a single bad row changes nothing, and its bad
rows come back in an error file to correct and import again. Rows are matched to stored ones
by their external ids (monthly targets by customer, business line and month), so importing the
same file twice changes nothing the second time, and a blank cell never erases a stored value.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.utils import timezone

from fenji.io.errors import DataIssue, Language
from fenji.io.readers import DATASET_EXTENSIONS
from fenji.web.accounts.services import audit
from fenji.web.facts.importing.database import Backend, backend
from fenji.web.facts.importing.plan import Plan, Resolver, plan_table
from fenji.web.facts.importing.reading import (
    ImportSetupError,
    Rows,
    file_level,
    flagged_raw_indices,
    load_mapping,
    read_for_import,
    read_raw_for_import,
)
from fenji.web.facts.importing.rejects import (
    ERROR_FILE_EXTENSIONS,
    default_error_path,
    write_rejects,
)
from fenji.web.facts.importing.report import ImportReport, ProgressCallback, Stage
from fenji.web.facts.importing.tables import KINDS, ImportTable, import_table

#: File extensions a folder import picks up, besides those of :data:`DATASET_EXTENSIONS`.
_FOLDER_EXTENSIONS = (*DATASET_EXTENSIONS, ".txt", ".xlsm")


def import_file(
    *,
    kind: str,
    path: str | Path,
    sheet: str | int | None = None,
    mapping: str | Path | Mapping[str, str] | None = None,
    dry_run: bool = False,
    user: Any = None,
    actor: str = "",
    errors_path: str | Path | None = None,
    lang: Language = "zh",
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import one file of ``kind`` (customers, orders, receivables, targets, score_events,
    interactions, feedback).

    ``mapping`` maps file headers to columns (a YAML/JSON file, or a dict) where the built-in
    recognition of Chinese and English headers is not enough. ``dry_run`` reports what would
    be created, updated and rejected and changes nothing (no error file either, unless
    ``errors_path`` asks for one). A rejected file's bad rows are written to ``errors_path``,
    by default next to the input (``orders.errors.csv``). Raises :class:`ImportSetupError` for
    an unknown kind or a bad mapping; problems with the data are in the report.
    """
    spec = _spec(kind)
    request = _Request(
        spec=spec,
        path=Path(path),
        sheet=sheet,
        headers=_headers(mapping, spec),
        errors_path=_error_target(errors_path),
    )
    return _import(
        [request], dry_run=dry_run, user=user, actor=actor, lang=lang, progress=progress
    )[0]


def import_folder(
    *,
    directory: str | Path,
    mapping: str | Path | None = None,
    dry_run: bool = False,
    user: Any = None,
    actor: str = "",
    lang: Language = "zh",
    progress: ProgressCallback | None = None,
) -> list[ImportReport]:
    """Import the files of a data folder (``customers.csv``, ``orders.xlsx``,
    ``interactions.csv``, ``feedback.csv`` ...) as one.

    All files are checked before any is written and all are written in one transaction, the
    customers first, so that facts may refer to customers of the same import. ``mapping`` may
    hold one header mapping per kind (``{orders: {...}, customers: {...}}``).
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ImportSetupError(f"{folder} is not a folder")
    found: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        stem = entry.stem.casefold()
        if entry.is_file() and entry.suffix.casefold() in _FOLDER_EXTENSIONS and stem in KINDS:
            found.setdefault(stem, []).append(entry)
    twice = {kind: paths for kind, paths in found.items() if len(paths) > 1}
    if twice:
        listed = "; ".join(", ".join(p.name for p in paths) for paths in twice.values())
        raise ImportSetupError(f"keep one file per kind in {folder}: {listed}")
    if not found:
        raise ImportSetupError(
            f"{folder} holds none of {', '.join(f'{k}.csv' for k in KINDS)} (or .xlsx, .parquet)"
        )
    requests = []
    for kind in KINDS:
        if kind in found:
            spec = _spec(kind)
            requests.append(
                _Request(
                    spec=spec, path=found[kind][0], headers=_headers(mapping, spec, shared=True)
                )
            )
    return _import(requests, dry_run=dry_run, user=user, actor=actor, lang=lang, progress=progress)


@dataclass(frozen=True)
class _Request:
    spec: ImportTable
    path: Path
    sheet: str | int | None = None
    headers: Mapping[str, str] | None = None
    errors_path: Path | None = None


@dataclass
class _File:
    """A file as read and, once checked, its plan."""

    request: _Request
    table: pa.Table | None  # dropped once planned: the plan holds what is to be written
    read_issues: list[DataIssue]
    rows: Rows
    flagged: set[int]  # raw indices the reader found bad
    num_rows: int
    blocked: bool  # the file as a whole cannot be imported (unreadable, a column missing)
    plan: Plan | None = None
    lines: tuple[str, ...] = ()

    @classmethod
    def read(cls, request: _Request) -> _File:
        coerced = read_for_import(
            request.path, request.spec.source, sheet=request.sheet, headers=request.headers
        )
        rows = Rows.of(coerced)
        table = coerced.table
        return cls(
            request=request,
            table=table,
            read_issues=coerced.issues,
            rows=rows,
            flagged=flagged_raw_indices(coerced, rows),
            num_rows=0 if table is None else table.num_rows,
            blocked=table is None or bool(file_level(coerced.issues)),
        )

    @property
    def issues(self) -> list[DataIssue]:
        found = [*self.read_issues, *(self.plan.issues if self.plan else [])]
        return sorted(found, key=lambda i: (i.row is not None, i.row or 0))


def _spec(kind: str) -> ImportTable:
    if kind not in KINDS:
        raise ImportSetupError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    return import_table(kind)


def _headers(
    mapping: str | Path | Mapping[str, str] | None, spec: ImportTable, *, shared: bool = False
) -> Mapping[str, str] | None:
    """The caller's header mapping over the kind's own further headers (跟进人 -> user)."""
    if mapping is None or isinstance(mapping, Mapping):
        given = mapping
    else:
        given = load_mapping(mapping, spec.source, extra_allowed=spec.profile, shared=shared)
    if not spec.aliases:
        return given
    return {**spec.aliases, **(given or {})}


def _error_target(errors_path: str | Path | None) -> Path | None:
    if errors_path is None:
        return None
    target = Path(errors_path)
    if target.suffix.casefold() not in ERROR_FILE_EXTENSIONS:
        raise ImportSetupError(
            f"the error file {target.name} must end in {', '.join(ERROR_FILE_EXTENSIONS)}"
        )
    return target


def _import(
    requests: Sequence[_Request],
    *,
    dry_run: bool,
    user: Any,
    actor: str,
    lang: Language,
    progress: ProgressCallback | None,
) -> list[ImportReport]:
    started = time.perf_counter()
    tell = _Tell(progress)
    files: list[_File] = []
    for done, request in enumerate(requests):
        tell("read", done, len(requests))
        files.append(_File.read(request))
    tell("read", len(requests), len(requests))

    db = backend()
    written = False
    if dry_run:
        _check(files, db, tell)
    else:
        with db.tuned(), transaction.atomic():
            db.lock()  # stored rows must not change between the comparison and the writes
            resolver = _check(files, db, tell)
            if all(not f.issues for f in files):
                _write(files, db, resolver, tell)
                for file in files:
                    _audit(file, user=user, actor=actor)
                written = True
                tell("commit", 0, 1)  # PostgreSQL checks foreign keys now: seconds per 1M rows
        if written:
            tell("commit", 1, 1)
    seconds = time.perf_counter() - started
    return [
        _report(file, dry_run=dry_run, written=written, lang=lang, seconds=seconds)
        for file in files
    ]


class _Tell:
    """Progress to the caller's callback, if any."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback

    def __call__(self, stage: Stage, done: int, total: int) -> None:
        if self.callback is not None:
            self.callback(stage, done, total)


def _check(files: list[_File], db: Backend, tell: _Tell) -> Resolver:
    """Plan every file; facts may name customers of the customers file of the same import.

    The resolver returned knows the placeholders the plans use, for the writes that follow.
    """
    pending = None
    for file in files:
        if file.request.spec.kind == "customers" and file.table is not None:
            pending = pc.unique(file.table["customer_id"].combine_chunks()).drop_null()
    resolver = Resolver(db, pending)
    stamp = db.timestamp(timezone.now())
    for done, file in enumerate(files):
        tell("check", done, len(files))
        if file.blocked or file.table is None:
            continue
        table = file.table
        if file.flagged:
            raw_of_row = file.rows.table_raw_indices(table.num_rows)
            flagged = pa.array(sorted(file.flagged), pa.int64())
            rejected = pc.is_in(raw_of_row, value_set=flagged)
        else:
            rejected = pc.is_valid(pa.nulls(table.num_rows, pa.bool_()))  # all false
        before = len(resolver.new_lines)
        file.plan = plan_table(
            spec=file.request.spec,
            table=table,
            rejected=rejected,
            rows=file.rows,
            file=str(file.request.path),
            resolver=resolver,
            stamp=stamp,
        )
        file.lines = tuple(resolver.new_lines[before:])
        file.table = None
    tell("check", len(files), len(files))
    return resolver


def _write(files: list[_File], db: Backend, resolver: Resolver, tell: _Tell) -> None:
    """Insert and update every file's rows, customers first, business lines before facts."""
    total = sum(f.plan.created + f.plan.updated for f in files if f.plan is not None)
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        tell("write", done, total)

    tell("write", 0, total)
    resolver.create_lines()
    for file in files:
        plan = file.plan
        if plan is None:
            continue
        inserts, updates = plan.inserts, plan.updates
        for f in plan.spec.fields:
            if f.kind in ("customer", "line"):
                inserts = _with_real_ids(inserts, f.column, f.kind, resolver)
                updates = _with_real_ids(updates, f.column, f.kind, resolver)
        if inserts.num_rows:
            db.insert(table=plan.spec.db_table, rows=inserts, progress=advance)
        if updates.num_rows:
            db.update(table=plan.spec.db_table, rows=updates, progress=advance)
        if plan.spec.kind == "customers":
            resolver.customers_written()


def _with_real_ids(rows: pa.Table, column: str, kind: Any, resolver: Resolver) -> pa.Table:
    if column not in rows.column_names:
        return rows
    index = rows.schema.get_field_index(column)
    return rows.set_column(index, column, resolver.real_ids(rows[column], kind))


def _audit(file: _File, *, user: Any, actor: str) -> None:
    plan = file.plan
    if plan is None:
        return
    request = file.request
    audit(
        action="data.imported",
        user=user,
        actor=actor,
        object_type=request.spec.kind,
        object_id=request.path.name[:128],
        details={
            "file": str(request.path),
            "sheet": request.sheet,
            "rows": plan.rows,
            "created": plan.created,
            "updated": plan.updated,
            "unchanged": plan.unchanged,
            "business_lines": list(file.lines),
        },
    )


def _report(
    file: _File, *, dry_run: bool, written: bool, lang: Language, seconds: float
) -> ImportReport:
    """The report of one file, with its error file written when it has bad rows."""
    request, plan, issues = file.request, file.plan, file.issues
    malformed = len(file.rows.numbers.skipped)
    read = file.num_rows
    bad = set(file.flagged)
    if plan is not None:
        bad.update(file.rows.raw_indices(plan.bad).to_pylist())
    rejected = read + malformed if file.blocked else len(bad) + malformed
    error_file = None
    wanted = not dry_run or request.errors_path is not None
    if issues and wanted and not file.blocked and (bad or malformed):
        error_file = request.errors_path or default_error_path(request.path)
        write_rejects(
            raw=read_raw_for_import(
                request.path, request.spec.source, sheet=request.sheet, headers=request.headers
            ),
            rows=file.rows,
            raw_indices=bad,
            issues=issues,
            target=error_file,
            lang=lang,
        )
    return ImportReport(
        kind=request.spec.kind,
        file=str(request.path),
        rows=read + malformed,
        created=plan.created if plan else 0,
        updated=plan.updated if plan else 0,
        unchanged=plan.unchanged if plan else 0,
        rejected=rejected,
        issues=tuple(issues),
        error_file=error_file,
        dry_run=dry_run,
        written=written and not issues,
        business_lines=file.lines,
        seconds=seconds,
    )
