"""The imports pages (administrators only): upload a file, see how its columns are read and
what importing it would do, import it, download the rows that were rejected; past imports.

The work is in :mod:`fenji.web.facts.uploads` (keeping uploads) and the import service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fenji.web.accounts.access import require
from fenji.web.facts.importing.tables import KINDS, import_table
from fenji.web.facts.uploads import (
    EXTENSIONS,
    ISSUES_KEPT,
    Upload,
    UploadError,
    column_mapping,
    error_file_download_name,
    error_file_of,
    issue_rows,
    max_upload_bytes,
    past_imports,
    token_of,
    too_large_message,
    upload_check,
    upload_get,
    upload_import,
    upload_save,
)
from fenji.web.ui.language import active_lang
from fenji.web.ui.paging import paginate

KIND_TEXT = {
    "customers": gettext_lazy("Customers"),
    "orders": gettext_lazy("Orders"),
    "receivables": gettext_lazy("Receivables"),
    "targets": gettext_lazy("Monthly targets"),
    "score_events": gettext_lazy("Score events"),
    "interactions": gettext_lazy("Follow-ups"),
    "feedback": gettext_lazy("Customer feedback"),
}
#: Problems listed on the check page (the error file has every bad row).
ISSUES_SHOWN = 20


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("The file holds"),
        choices=[(k, KIND_TEXT.get(k, k)) for k in KINDS],
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GBK), Excel .xlsx or Parquet. Chinese or English headers are "
            "recognised; dates such as 2024年3月5日 and amounts such as 1.5万 are read as written."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(EXTENSIONS)}),
    )
    sheet = forms.CharField(
        label=gettext_lazy("Sheet"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Excel only: the sheet's name; the first sheet when empty."),
    )


def _past(request: HttpRequest) -> dict[str, Any]:
    page = paginate(past_imports().select_related("user"), request, per_page=20)
    rows = []
    for entry in page.items:
        details = entry.details or {}
        file = str(details.get("file", ""))
        token = token_of(file=file) if file else None
        rows.append(
            {
                "entry": entry,
                "kind": KIND_TEXT.get(entry.object_type, entry.object_type),
                "file": Path(file).name if file else entry.object_id,
                "imported": entry.action == "data.imported",
                "details": details,
                "token": token if token and upload_get(token=token) else None,
            }
        )
    return {"page": page, "past": rows}


@login_required
def imports(request: HttpRequest) -> HttpResponse:
    """The upload form and the past imports."""
    require(request.user, "import.run")
    form = UploadForm()
    error = ""
    if request.method == "POST":
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > max_upload_bytes() + 64 * 1024:  # not even read: it is too large
            error = too_large_message(declared)
        else:
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    upload = upload_save(
                        file=form.cleaned_data["file"],
                        kind=form.cleaned_data["kind"],
                        sheet=form.cleaned_data["sheet"],
                        user=request.user,
                    )
                except UploadError as err:
                    error = str(err)
                else:
                    return redirect("facts:import_detail", token=upload.token)
    context = {
        "form": form,
        "error": error,
        "limit_mb": f"{max_upload_bytes() / 1024 / 1024:.0f}",
        **_past(request),
    }
    return render(request, "facts/imports.html", context, status=400 if error else 200)


def _upload(token: str) -> Upload:
    upload = upload_get(token=token)
    if upload is None:
        raise Http404("no such upload")
    return upload


@login_required
def import_detail(request: HttpRequest, token: str) -> HttpResponse:
    """Step 2: how the columns are read and what importing would do; after the import, what
    it did."""
    require(request.user, "import.run")
    upload = _upload(token)
    lang = active_lang()
    spec = import_table(upload.kind)
    context: dict[str, Any] = {
        "upload": upload,
        "kind": KIND_TEXT.get(upload.kind, upload.kind),
        "source_title": spec.source.en if lang == "en" else spec.source.zh,
        "size_kb": f"{upload.size / 1024:.1f}",
    }
    if upload.status == "uploaded":
        report = upload_check(upload=upload, lang=lang)
        mapping = column_mapping(upload=upload, lang=lang)
        context.update(
            {
                "mapping": mapping,
                "report": report,
                "issues": issue_rows(
                    report.issues, lang=lang, limit=ISSUES_SHOWN, headers=mapping.headers()
                ),
                "more_issues": max(0, len(report.issues) - ISSUES_SHOWN),
            }
        )
    else:
        context.update(
            {
                "result": upload.result,
                "issues": upload.issues,
                "more_issues": max(0, upload.result.get("problems", 0) - ISSUES_KEPT),
                "has_error_file": error_file_of(upload=upload) is not None,
            }
        )
    return render(request, "facts/import_detail.html", context)


@login_required
@require_POST
def import_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Step 3: the real import, all or nothing; back to the upload's page with the outcome."""
    require(request.user, "import.run")
    upload = _upload(token)
    if upload.status != "uploaded":
        messages.info(request, _("This file was imported already; upload it again to repeat."))
        return redirect("facts:import_detail", token=token)
    report = upload_import(upload=upload, user=request.user, lang=active_lang())
    if report.written:
        messages.success(
            request,
            _("Imported: %(created)s new, %(updated)s updated, %(unchanged)s unchanged.")
            % {"created": report.created, "updated": report.updated, "unchanged": report.unchanged},
        )
    else:
        messages.error(request, _("Nothing was imported: the file has problems."))
    return redirect("facts:import_detail", token=token)


@login_required
def import_errors(request: HttpRequest, token: str) -> FileResponse:
    """The error file of a rejected upload: its bad rows, with what is wrong in each."""
    require(request.user, "import.run")
    upload = _upload(token)
    path = error_file_of(upload=upload)
    if path is None:
        raise Http404("no error file")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=error_file_download_name(upload=upload),
    )
