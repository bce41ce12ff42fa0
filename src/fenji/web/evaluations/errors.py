"""Errors of evaluation runs and overrides, with stable codes the UI, API and CLI react to."""

from __future__ import annotations

from fenji.web.errors import CodedError


class RunError(CodedError):
    """An evaluation run cannot start or could not finish. ``code`` is stable
    (``run.already_running``, ``run.unsupported_source``, ...); the message says what to do."""


class RunRefused(RunError):
    """Another run of the same policy is in progress (in this process or another)."""

    def __init__(self, message: str, *, running_run_id: int | None = None) -> None:
        super().__init__("run.already_running", message)
        self.running_run_id = running_run_id


class OverrideError(CodedError, ValueError):
    """An override cannot be made or revoked as asked (unknown dimension or label, no
    reason, ...). ``code`` is stable (``override.unknown_label``, ...)."""
