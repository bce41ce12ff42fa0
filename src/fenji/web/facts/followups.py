"""Recording follow-ups (跟进记录): a visit, call, e-mail or meeting with a customer.

Follow-ups are the one fact sales people write by hand in the UI (the others arrive by
import), so the service checks what a form cannot: the user may add follow-ups and may see the
customer, the day it happened is not in the future, and the next follow-up is not due before
it. Every follow-up is audited, like overrides and policy changes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from fenji.web.accounts.access import can, can_see_customer
from fenji.web.accounts.services import audit
from fenji.web.customers.models import Customer
from fenji.web.errors import CodedError
from fenji.web.facts.models import Interaction

#: Longest note kept; a follow-up is a short record, not a document.
NOTE_MAX_LENGTH = 4000


class FollowupError(CodedError, ValueError):
    """A follow-up cannot be recorded as given. ``code`` is stable (``followup.future_date``,
    ...) and ``field`` names the form field at fault, so a form shows the message beside it."""

    def __init__(self, code: str, message: str, *, field: str = "") -> None:
        super().__init__(code, message)
        self.field = field


def interaction_create(
    *,
    user: Any,
    customer: Customer,
    kind: str,
    happened_on: date,
    note: str = "",
    next_due: date | None = None,
) -> Interaction:
    """Record a follow-up of ``customer`` by ``user`` and audit it.

    Raises ``PermissionDenied`` when ``user`` may not add follow-ups or may not see the
    customer (views answer 404 for the latter before calling), and :class:`FollowupError` for
    an unknown kind, a day in the future, a next due date before the follow-up, or a note
    longer than :data:`NOTE_MAX_LENGTH`."""
    if not can(user, "followup.add") or not can_see_customer(user=user, customer=customer):
        raise PermissionDenied("followup.add")
    if kind not in Interaction.Kind.values:
        raise FollowupError(
            "followup.unknown_kind",
            f"unknown kind of follow-up '{kind}'; choose one of "
            f"{', '.join(Interaction.Kind.values)}",
            field="kind",
        )
    today = timezone.localdate()
    if happened_on > today:
        raise FollowupError(
            "followup.future_date",
            f"a follow-up records what happened: {happened_on} is after today ({today}); "
            f"plan a future contact with the next due date",
            field="happened_on",
        )
    if next_due is not None and next_due < happened_on:
        raise FollowupError(
            "followup.due_before_followup",
            f"the next follow-up ({next_due}) cannot be due before this one ({happened_on})",
            field="next_due",
        )
    text = (note or "").strip()
    if len(text) > NOTE_MAX_LENGTH:
        raise FollowupError(
            "followup.note_too_long",
            f"the note has {len(text)} characters; keep it to {NOTE_MAX_LENGTH}",
            field="note",
        )
    with transaction.atomic():
        interaction = Interaction.objects.create(
            customer=customer,
            kind=kind,
            happened_on=happened_on,
            user=user,
            note=text,
            next_due=next_due,
        )
        audit(
            action="followup.created",
            user=user,
            object_type="interaction",
            object_id=interaction.pk,
            details={
                "customer": customer.external_id,
                "kind": kind,
                "happened_on": happened_on.isoformat(),
                "next_due": next_due.isoformat() if next_due else None,
            },
        )
    return interaction
