"""Helpers to build input files in ``tmp_path``: tests say what the file holds, in its encoding."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

WriteCsv = Callable[..., Path]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write ``rows`` (header first, quoted where needed) or ``text`` as a file; return its path."""

    def write(
        name: str,
        rows: list[list[str]] | None = None,
        *,
        text: str | None = None,
        encoding: str = "utf-8",
    ) -> Path:
        if text is None:
            assert rows is not None
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            text = out.getvalue()
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write
