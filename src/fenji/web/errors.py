"""The base of the web app's refusals that carry a stable code.

A run that cannot start, an override or follow-up that cannot be recorded, a token or a
simulation that cannot be made: each is refused with a ``code`` the UI, the REST API and the
CLI react to (``run.already_running``, ``override.unknown_label``, ...) and a message that
says what to do. They are told apart by their class; what they carry is this one shape.
"""

from __future__ import annotations


class CodedError(Exception):
    """A refusal with a stable ``code`` and a ``message`` that says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
