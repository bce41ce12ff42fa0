"""What an import did (or, in a dry run or when rejected, would do), for the CLI, UI and API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fenji.io.errors import DataIssue

#: The stages an import reports progress for, in order.
Stage = Literal["read", "check", "write", "commit"]

#: ``progress(stage, done, total)``: files read or checked so far, rows written so far, or
#: 0 of 1 and 1 of 1 around the commit.
ProgressCallback = Callable[[Stage, int, int], None]


@dataclass(frozen=True)
class ImportReport:
    """The outcome of importing one file.

    ``created``, ``updated`` and ``unchanged`` count the file's good rows by what happens to
    them; they are what *was* done when ``written``, and what *would be* done otherwise (a dry
    run, or a rejected file, where nothing is written). ``rejected`` counts the bad rows;
    ``issues`` say what is wrong with them (or with the whole file) and ``error_file`` holds
    them for correction. ``business_lines`` are the lines the import creates.
    """

    kind: str
    file: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    issues: tuple[DataIssue, ...] = ()
    error_file: Path | None = None
    dry_run: bool = False
    written: bool = False
    business_lines: tuple[str, ...] = field(default=())
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the file itself is fine (it may still be unwritten: a dry run, or another
        file of the same import was rejected)."""
        return not self.issues

    def counts(self) -> dict[str, Any]:
        """The figures, as kept in the audit log and returned by the API."""
        return {
            "kind": self.kind,
            "file": self.file,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "business_lines": list(self.business_lines),
        }
