"""The forms of the customer page: add a follow-up, override a label.

Forms check what a browser sends (types, required fields, choices); the services
(:func:`~fenji.web.facts.followups.interaction_create`,
:func:`~fenji.web.evaluations.services.override_create`) check the rules and raise errors with
stable codes, which :func:`followup_error` and :func:`override_error` turn into a translated
message beside the field at fault.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fenji.web.customers.profile import DimensionChoice
from fenji.web.evaluations.errors import OverrideError, RunError
from fenji.web.facts.followups import NOTE_MAX_LENGTH, FollowupError
from fenji.web.facts.models import Interaction

#: Kinds of follow-up as the UI names them (the model's choices are bilingual labels).
KIND_LABELS: dict[str, Any] = {
    Interaction.Kind.VISIT: _("Visit"),
    Interaction.Kind.CALL: _("Call"),
    Interaction.Kind.EMAIL: _("E-mail"),
    Interaction.Kind.MEETING: _("Meeting"),
}

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

#: Messages for the services' error codes: (field, message).
_FOLLOWUP_ERRORS: dict[str, tuple[str, Any]] = {
    "followup.unknown_kind": ("kind", _("Choose the kind of follow-up.")),
    "followup.future_date": (
        "happened_on",
        _("A follow-up records what happened: the date cannot be after today."),
    ),
    "followup.due_before_followup": (
        "next_due",
        _("The next follow-up cannot be due before this one."),
    ),
    "followup.note_too_long": ("note", _("The note is too long.")),
}
_OVERRIDE_ERRORS: dict[str, tuple[str, Any]] = {
    "override.reason_required": ("reason", _("Give a reason: why is the label set by hand?")),
    "override.unknown_dimension": ("target", _("This policy has no such dimension.")),
    "override.unknown_label": ("label", _("This dimension cannot give that label.")),
    "override.expired": (
        "expires_on",
        _("The expiry must be after today; leave it empty for no expiry."),
    ),
    "override.unknown_business_line": ("target", _("There is no such business line.")),
    "run.no_published_policy": ("target", _("This policy has no published version.")),
}


class FollowupForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=list(KIND_LABELS.items()))
    happened_on = forms.DateField(label=_("Date"), widget=_DATE)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_due = forms.DateField(
        label=_("Next follow-up due"),
        required=False,
        widget=_DATE,
        help_text=_("Optional: when to get in touch again."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "followup_%s")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("happened_on", timezone.localdate())
            self.initial.setdefault("kind", Interaction.Kind.VISIT)


def followup_error(form: forms.Form, err: FollowupError) -> None:
    """Show a service's refusal beside the field it is about."""
    field, message = _FOLLOWUP_ERRORS.get(err.code, (err.field or None, err.message))
    form.add_error(field if field in form.fields else None, message)


def target_key(choice: DimensionChoice, line: str = "") -> str:
    """The value of an override target option: policy, dimension and business line code."""
    return f"{choice.policy}|{choice.dimension}|{line}"


def split_target(value: str) -> tuple[str, str, str]:
    policy, _sep, rest = value.partition("|")
    dimension, _sep, line = rest.partition("|")
    return policy, dimension, line


class OverrideForm(forms.Form):
    """Override one dimension's label: the target (policy, dimension and, for policies graded
    per business line, the line), the label, a reason, and an optional expiry."""

    target = forms.ChoiceField(label=_("Policy and dimension"))
    label = forms.ChoiceField(label=_("Label"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        error_messages={"required": _OVERRIDE_ERRORS["override.reason_required"][1]},
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required: the reason is kept with the override and in the audit log."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=_DATE,
        help_text=_("Optional, after today: from then on runs give the computed label again."),
    )

    def __init__(
        self, *args: Any, choices: list[DimensionChoice], target: str = "", **kwargs: Any
    ) -> None:
        kwargs.setdefault("auto_id", "override_%s")
        super().__init__(*args, **kwargs)
        self.dimension_choices = choices
        options: list[tuple[str, Any]] = []
        labels: dict[str, list[str]] = {}
        for choice in choices:
            base = f"{choice.policy_title} · {choice.dimension_title}"
            options.append((target_key(choice), base))
            labels[target_key(choice)] = choice.labels
            for code, name in choice.business_lines:
                options.append((target_key(choice, code), f"{base} · {name}"))
                labels[target_key(choice, code)] = choice.labels
        self.fields["target"].choices = options
        chosen = self.data.get("target") if self.is_bound else target
        if chosen not in labels:
            chosen = options[0][0] if options else ""
        self.initial.setdefault("target", chosen)
        self.fields["label"].choices = [(label, label) for label in labels.get(chosen, [])]
        self.chosen = chosen

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_OVERRIDE_ERRORS["override.reason_required"][1])
        return reason

    def clean_expires_on(self) -> date | None:
        expires: date | None = self.cleaned_data.get("expires_on")
        if expires is not None and expires <= timezone.localdate():
            raise forms.ValidationError(_OVERRIDE_ERRORS["override.expired"][1])
        return expires


def override_error(form: forms.Form, err: OverrideError | RunError) -> None:
    """Show a service's refusal beside the field it is about."""
    field, message = _OVERRIDE_ERRORS.get(err.code, (None, err.message))
    form.add_error(field, message)
