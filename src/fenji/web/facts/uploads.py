"""Imports from the web: a file uploaded, checked (a dry run), then imported on confirmation.

An upload is kept in a folder of its own under a private upload folder (``FENJI_UPLOAD_DIR``;
by default ``fenji-uploads`` beside the SQLite database, or in the temporary folder), never
under the static files: ``<root>/<token>/`` holds the file as uploaded, ``upload.json`` (what
was asked and, once imported, what happened) and, for a rejected file, the error file of its
bad rows. The token is random (128 bits) and is the only name a request can give: a folder is
found by token alone, and nothing a user types becomes part of a path.

The checking and importing are :func:`fenji.web.facts.services.import_file`'s: one transaction,
all or nothing, the same as ``fenji import``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from fenji.io.errors import DataIssue, Language
from fenji.io.headers import accepted_headers, header_key, resolve_headers
from fenji.io.readers import XLSX_EXTENSIONS
from fenji.web.accounts.models import AuditEntry
from fenji.web.accounts.services import audit
from fenji.web.facts.importing.reading import ERROR_COLUMN, ImportSetupError, read_raw_for_import
from fenji.web.facts.importing.report import ImportReport
from fenji.web.facts.importing.tables import KINDS, TAG_HEADERS, import_table
from fenji.web.facts.services import import_file

#: File types an upload may be.
EXTENSIONS: Final = (".csv", ".txt", ".xlsx", ".xlsm", ".parquet")
#: Largest upload by default, in megabytes (``FENJI_UPLOAD_MAX_MB``).
DEFAULT_MAX_MB: Final = 50
#: Days an upload's folder (the file, its outcome, its error file) is kept by default
#: (``FENJI_UPLOAD_KEEP_DAYS``): uploads hold customer data, which should not pile up on disk.
#: What an import did stays in the audit log.
DEFAULT_KEEP_DAYS: Final = 30
#: Problems kept with an import's outcome, for its page.
ISSUES_KEPT: Final = 50
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")
_META = "upload.json"
#: Audit actions of the imports the past imports list shows.
IMPORT_ACTIONS: Final = ("data.imported", "data.import_rejected")


class UploadError(ValueError):
    """An upload that cannot be kept: wrong kind or type of file, empty, too large."""


def upload_root() -> Path:
    """The private folder uploads are kept in (created, readable by this user only)."""
    configured = getattr(settings, "FENJI_UPLOAD_DIR", None) or os.environ.get("FENJI_UPLOAD_DIR")
    if configured:
        root = Path(configured)
    elif connection.vendor == "sqlite" and str(connection.settings_dict["NAME"]) != ":memory:":
        root = Path(str(connection.settings_dict["NAME"])).resolve().parent / "fenji-uploads"
    else:
        root = Path(tempfile.gettempdir()) / "fenji-uploads"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root.resolve()


def max_upload_bytes() -> int:
    """The largest file accepted (``FENJI_UPLOAD_MAX_BYTES`` setting, or ``FENJI_UPLOAD_MAX_MB``
    in the environment)."""
    configured = getattr(settings, "FENJI_UPLOAD_MAX_BYTES", None)
    if configured:
        return int(configured)
    return int(float(os.environ.get("FENJI_UPLOAD_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024)


@dataclass
class Upload:
    """One uploaded file and what became of it (kept as ``upload.json`` beside the file)."""

    token: str
    kind: str
    name: str  # the file's name in the upload folder (the uploaded name, made safe)
    size: int
    sheet: str = ""
    uploaded_by: str = ""
    uploaded_at: str = ""
    #: uploaded (checked only), imported, or rejected (nothing written, error file if any)
    status: str = "uploaded"
    result: dict[str, Any] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    error_file: str = ""
    imported_by: str = ""
    imported_at: str = ""

    @property
    def folder(self) -> Path:
        return upload_root() / self.token

    @property
    def path(self) -> Path:
        return self.folder / self.name

    def save(self) -> None:
        target = self.folder / _META
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")
        temporary.replace(target)


def _safe_name(name: str) -> str:
    """The uploaded file's own name, reduced to letters (Chinese too), digits, - _ and dots."""
    base = Path(name.replace("\\", "/")).name
    suffix = Path(base).suffix.casefold()
    try:
        safe = get_valid_filename(base)
    except SuspiciousFileOperation:
        safe = ""
    stem = Path(safe).stem[:80].lstrip(".") or "upload"
    if stem == "errors":  # the name of the error file in the same folder
        stem = "errors-file"
    return f"{stem}{suffix}"


def upload_save(
    *, file: UploadedFile[bytes], kind: str, sheet: str = "", user: Any = None
) -> Upload:
    """Keep ``file`` in a new upload folder; raises :class:`UploadError` with the reason."""
    if kind not in KINDS:
        raise UploadError(_("Choose what the file holds."))
    name = _safe_name(file.name or "")
    if Path(name).suffix not in EXTENSIONS:
        raise UploadError(
            _("Upload a CSV, Excel (.xlsx) or Parquet file; “%(name)s” is none of these.")
            % {"name": file.name}
        )
    limit = max_upload_bytes()
    if file.size is not None and file.size > limit:
        raise UploadError(too_large_message(file.size))
    if not file.size:
        raise UploadError(_("The file is empty."))
    uploads_prune()
    token = secrets.token_urlsafe(16)
    folder = upload_root() / token
    folder.mkdir(mode=0o700)
    written = 0
    with (folder / name).open("wb") as out:
        for chunk in file.chunks():
            written += len(chunk)
            if written > limit:  # the size the browser declared was wrong
                out.close()
                _remove(folder)
                raise UploadError(too_large_message(written))
            out.write(chunk)
    os.chmod(folder / name, 0o600)
    upload = Upload(
        token=token,
        kind=kind,
        name=name,
        size=written,
        sheet=sheet.strip(),
        uploaded_by=user.get_username() if getattr(user, "is_authenticated", False) else "",
        uploaded_at=timezone.now().isoformat(),
    )
    upload.save()
    return upload


def keep_days() -> float:
    """How long uploads are kept (``FENJI_UPLOAD_KEEP_DAYS`` setting or environment)."""
    configured = getattr(settings, "FENJI_UPLOAD_KEEP_DAYS", None)
    if configured is None:
        configured = os.environ.get("FENJI_UPLOAD_KEEP_DAYS", DEFAULT_KEEP_DAYS)
    return float(configured)


def uploads_prune(*, now: float | None = None) -> list[str]:
    """Remove the upload folders last changed more than :func:`keep_days` ago; the tokens
    removed. Only folders named like a token are touched, so nothing else in the folder (a
    misconfigured ``FENJI_UPLOAD_DIR``) is ever deleted. Every new upload does this."""
    root = upload_root()
    cutoff = (time.time() if now is None else now) - keep_days() * 86400
    removed: list[str] = []
    for folder in root.iterdir():
        if not _TOKEN.match(folder.name) or folder.is_symlink() or not folder.is_dir():
            continue
        try:
            if folder.stat().st_mtime >= cutoff:
                continue
            if any(entry.is_dir() for entry in folder.iterdir()):
                continue  # not an upload folder of ours
            _remove(folder)
        except OSError:  # another process removed it meanwhile, or it is in use
            continue
        removed.append(folder.name)
    return removed


def too_large_message(size: int) -> str:
    return _(
        "The file is %(size)s MB; files up to %(limit)s MB are accepted. Split it into "
        "smaller files, or import it with the command line (fenji import)."
    ) % {"size": f"{size / 1024 / 1024:.1f}", "limit": f"{max_upload_bytes() / 1024 / 1024:.0f}"}


def _remove(folder: Path) -> None:
    for entry in folder.iterdir():
        entry.unlink()
    folder.rmdir()


def upload_get(*, token: str) -> Upload | None:
    """The upload of ``token``; None for a token that is not one (or is no longer there)."""
    if not _TOKEN.match(token):
        return None
    root = upload_root()
    folder = (root / token).resolve()
    if folder.parent != root or not (folder / _META).is_file():
        return None
    try:
        data = json.loads((folder / _META).read_text(encoding="utf-8"))
        upload = Upload(**data)
    except (OSError, ValueError, TypeError):
        return None
    if upload.token != token or upload.kind not in KINDS:
        return None
    return upload


def error_file_of(*, upload: Upload) -> Path | None:
    """The error file of a rejected upload, if it has one (only ever inside its folder)."""
    if not upload.error_file or upload.error_file not in ("errors.csv", "errors.xlsx"):
        return None
    path = (upload.folder / upload.error_file).resolve()
    if path.parent != upload.folder.resolve() or not path.is_file():
        return None
    return path


def error_file_download_name(*, upload: Upload) -> str:
    """The name the error file is downloaded as: ``orders.errors.csv`` for ``orders.csv``."""
    return f"{Path(upload.name).stem}.errors{Path(upload.error_file).suffix}"


# --- the column mapping -----------------------------------------------------------------------


@dataclass(frozen=True)
class MappedColumn:
    header: str
    #: The column it is read as (None: not one of the kind's columns).
    column: str | None
    title: str


@dataclass(frozen=True)
class ColumnMapping:
    """How the file's headers are read: recognised columns, others, required ones missing."""

    columns: list[MappedColumn]
    unrecognised: list[str]
    #: (column, title, headers that would be recognised)
    missing_required: list[tuple[str, str, list[str]]]
    missing_optional: list[tuple[str, str]]
    #: Customers keep unrecognised columns as custom attributes; other kinds ignore them.
    keeps_extras: bool
    readable: bool

    def headers(self) -> dict[str, str]:
        """The file's header of each recognised column."""
        return {c.column: c.header for c in self.columns if c.column is not None}


def column_mapping(*, upload: Upload, lang: Language) -> ColumnMapping:
    """The file's headers and the column each is read as, as the import will read them."""
    spec = import_table(upload.kind)
    source = spec.source
    explicit = dict(spec.aliases) or None  # the kind's own further headers, as the import reads
    raw = read_raw_for_import(upload.path, source, sheet=upload.sheet or None, headers=explicit)
    headers = [h for h in raw.headers if h.strip()]
    names, _issues = resolve_headers(headers, source, explicit, file=upload.name)
    known = set(source.column_names)

    def title(column: str) -> str:
        col = source.column(column)
        return (col.en if lang == "en" else col.zh) or col.en or col.zh or column

    columns: list[MappedColumn] = []
    unrecognised: list[str] = []
    for header, name in zip(headers, names, strict=True):
        if name in known:
            columns.append(MappedColumn(header, name, title(name)))
        elif spec.profile and header_key(header) in TAG_HEADERS:
            columns.append(MappedColumn(header, "tags", _("tags")))
        elif header_key(header) != header_key(ERROR_COLUMN):
            unrecognised.append(header)
    found = {c.column for c in columns}
    missing_required = [
        (c.name, title(c.name), accepted_headers(source, c.name)[:4])
        for c in source.columns
        if c.name not in found and c.name not in source.optional_columns
    ]
    missing_optional = [
        (c.name, title(c.name))
        for c in source.columns
        if c.name not in found and c.name in source.optional_columns
    ]
    return ColumnMapping(
        columns=columns,
        unrecognised=unrecognised,
        missing_required=missing_required,
        missing_optional=missing_optional,
        keeps_extras=spec.profile,
        readable=raw.readable,
    )


# --- checking and importing -------------------------------------------------------------------


def issue_rows(
    issues: Iterable[DataIssue],
    *,
    lang: Language,
    limit: int,
    headers: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The first ``limit`` problems as the page lists them: row, column (as headed in the file,
    by ``headers``: column -> header), value, reason."""
    headers = headers or {}
    sep = "; " if lang == "en" else "；"
    rows: list[dict[str, Any]] = []
    for issue in issues:
        if len(rows) >= limit:
            break
        message, hint = (
            (issue.message, issue.hint) if lang == "en" else (issue.message_zh, issue.hint_zh)
        )
        rows.append(
            {
                "row": issue.row,
                "column": headers.get(issue.column, issue.column) if issue.column else "",
                "value": issue.value if issue.value is not None else "",
                "reason": f"{message}{sep}{hint}" if hint else message,
                "code": issue.code,
            }
        )
    return rows


def upload_check(*, upload: Upload, lang: Language) -> ImportReport:
    """What importing the upload would do, writing nothing (no error file either)."""
    return import_file(
        kind=upload.kind,
        path=upload.path,
        sheet=upload.sheet or None,
        dry_run=True,
        lang=lang,
    )


def upload_import(*, upload: Upload, user: Any, lang: Language) -> ImportReport:
    """Import the upload for real, in one transaction; a file with bad rows writes nothing and
    leaves the error file of those rows in the upload's folder. The outcome is kept with the
    upload, and a rejection is audited (an import is audited by the import service)."""
    suffix = ".xlsx" if upload.path.suffix.casefold() in XLSX_EXTENSIONS else ".csv"
    target = upload.folder / f"errors{suffix}"
    report = import_file(
        kind=upload.kind,
        path=upload.path,
        sheet=upload.sheet or None,
        user=user,
        errors_path=target,
        lang=lang,
    )
    upload.status = "imported" if report.written else "rejected"
    upload.result = report.counts()
    upload.result.pop("file", None)
    upload.result["problems"] = len(report.issues)
    mapping = column_mapping(upload=upload, lang=lang)
    upload.issues = issue_rows(
        report.issues, lang=lang, limit=ISSUES_KEPT, headers=mapping.headers()
    )
    upload.error_file = target.name if report.error_file is not None and target.is_file() else ""
    upload.imported_by = user.get_username() if getattr(user, "is_authenticated", False) else ""
    upload.imported_at = timezone.now().isoformat()
    upload.save()
    if not report.written:
        audit(
            action="data.import_rejected",
            user=user,
            object_type=upload.kind,
            object_id=upload.name[:128],
            details={
                "file": str(upload.path),
                "sheet": upload.sheet or None,
                "rows": report.rows,
                "rejected": report.rejected,
                "problems": len(report.issues),
                "error_file": bool(upload.error_file),
            },
        )
    return report


def past_imports() -> QuerySet[AuditEntry]:
    """Imports done (from the web or ``fenji import``) and uploads rejected, newest first."""
    return AuditEntry.objects.filter(action__in=IMPORT_ACTIONS).order_by("-at", "-id")


def token_of(*, file: str) -> str | None:
    """The upload token of an audited import's file, when it was uploaded here."""
    path = Path(file)
    if path.parent.parent == upload_root() and _TOKEN.match(path.parent.name):
        return path.parent.name
    return None


__all__ = [
    "EXTENSIONS",
    "ColumnMapping",
    "ImportSetupError",
    "Upload",
    "UploadError",
    "column_mapping",
    "error_file_of",
    "past_imports",
    "upload_check",
    "upload_get",
    "upload_import",
    "upload_save",
]
