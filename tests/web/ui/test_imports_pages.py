"""The imports pages: administrators only; an upload is checked (column mapping and a dry run
that writes nothing), then imported all or nothing; a rejected file gives back its bad rows in
an error file that only administrators can download, from a path nobody can choose."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from fenji.web.accounts.models import AuditEntry
from fenji.web.facts.models import Order
from fenji.web.facts.uploads import upload_get

from ..ui_world import World

pytestmark = pytest.mark.django_db

IMPORTS = reverse("facts:imports")
HEADERS = ["订单编号", "客户编号", "业务线", "订单日期", "金额（元）", "数量", "渠道", "备注"]


@pytest.fixture(autouse=True)
def upload_dir(settings: object, tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    settings.FENJI_UPLOAD_DIR = str(folder)  # type: ignore[attr-defined]
    return folder


def csv_file(rows: Sequence[Sequence[object]], name: str = "orders.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    csv.writer(out).writerows([HEADERS, *rows])
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8"), content_type="text/csv")


GOOD_ROWS = [
    ["W-1", "A-1", "dairy", "2026年3月5日", "1.5万", "2", "direct", "新客户"],
    ["W-2", "A-2", "drinks", "2026-03-06", "800", "1", "direct", ""],
    ["A-1-01", "A-1", "drinks", "2026-01-10", "1300", "1", "direct", "改金额"],  # stored: 1200
]
BAD_ROW = ["W-3", "A-3", "dairy", "2026-13-45", "500", "1", "direct", "日期错"]


def upload(client: Client, file: SimpleUploadedFile, kind: str = "orders") -> str:
    """Upload ``file``; the token of the upload."""
    response = client.post(IMPORTS, {"kind": kind, "file": file, "sheet": ""})
    assert response.status_code == 302, response.content.decode()[-2000:]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def page(client: Client, token: str) -> str:
    response = client.get(reverse("facts:import_detail", args=[token]))
    assert response.status_code == 200
    return response.content.decode()


def counts(html: str) -> dict[str, str]:
    import re

    return dict(
        re.findall(r'data-testid="(would-\w+|created|updated|rejected-count)">([^<]*)<', html)
    )


def stored_orders() -> list[tuple[str, Decimal]]:
    return list(Order.objects.order_by("external_id").values_list("external_id", "amount"))


# --- roles ----------------------------------------------------------------------------------


def test_only_administrators_may_import(world: World, client_as: Callable[[str], Client]) -> None:
    admin = client_as("admin")
    assert admin.get(IMPORTS).status_code == 200
    token = upload(admin, csv_file(GOOD_ROWS))
    for login in ("mgr_east", "rep_a"):
        client = client_as(login)
        assert client.get(IMPORTS).status_code == 403
        assert (
            client.post(IMPORTS, {"kind": "orders", "file": csv_file(GOOD_ROWS)}).status_code == 403
        )
        assert client.get(reverse("facts:import_detail", args=[token])).status_code == 403
        assert client.post(reverse("facts:import_confirm", args=[token])).status_code == 403
        assert client.get(reverse("facts:import_errors", args=[token])).status_code == 403
    assert not Order.objects.filter(external_id__startswith="W-").exists()


# --- step 2: mapping and dry run ------------------------------------------------------------


def test_the_check_shows_the_mapping_and_counts_and_writes_nothing(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    before = stored_orders()
    audits = AuditEntry.objects.count()
    token = upload(admin, csv_file(GOOD_ROWS))
    html = page(admin, token)
    assert 'data-header="订单编号" data-column="order_id"' in html
    assert 'data-header="金额（元）" data-column="amount"' in html
    assert 'data-header="备注" data-unrecognised' in html
    assert counts(html) == {
        "would-create": "2",
        "would-update": "1",
        "would-keep": "0",
        "would-reject": "0",
    }
    page(admin, token)  # checking again is still a dry run
    assert stored_orders() == before
    assert AuditEntry.objects.count() == audits
    assert sorted(p.name for p in (upload_get(token=token).folder).iterdir()) == [  # type: ignore[union-attr]
        "orders.csv",
        "upload.json",
    ]


def test_a_missing_required_column_is_named_with_the_headers_that_would_do(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    body = "订单编号,金额\nW-9,100\n".encode()
    token = upload(admin, SimpleUploadedFile("orders.csv", body))
    html = page(admin, token)
    assert 'data-testid="missing-columns"' in html
    assert "customer_id" in html.split('data-testid="missing-columns"', 1)[1]
    assert 'data-testid="issues"' in html


def test_the_check_lists_problems_in_the_ui_language(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    token = upload(admin, csv_file([GOOD_ROWS[0], BAD_ROW]))
    html = page(admin, token)
    assert counts(html)["would-reject"] == "1"
    issues = html.split('data-testid="issues"', 1)[1]
    assert 'data-row="3"' in issues
    assert "2026-13-45" in issues
    assert "<td>订单日期</td>" in issues  # the column as headed in the file
    assert "日期" in issues
    admin.post(reverse("set_language"), {"language": "en"})
    english = page(admin, token).split('data-testid="issues"', 1)[1]
    assert "date" in english.lower()
    assert not Order.objects.filter(external_id__in=["W-1", "W-3"]).exists()


# --- step 3: importing ----------------------------------------------------------------------


def test_a_good_file_is_imported_and_listed(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    token = upload(admin, csv_file(GOOD_ROWS))
    response = admin.post(reverse("facts:import_confirm", args=[token]))
    assert response.status_code == 302
    html = page(admin, token)
    assert 'data-testid="imported"' in html
    assert counts(html) == {"created": "2", "updated": "1", "rejected-count": "0"}
    assert Order.objects.get(external_id="W-1").amount == Decimal(15000)
    assert Order.objects.get(external_id="A-1-01").amount == Decimal(1300)
    entry = AuditEntry.objects.get(action="data.imported")
    assert entry.user == world.users["admin"]
    listed = admin.get(IMPORTS).content.decode()
    assert f'data-entry="{entry.pk}"' in listed
    assert reverse("facts:import_detail", args=[token]) in listed

    # confirming again does not import again
    admin.post(reverse("facts:import_confirm", args=[token]))
    assert AuditEntry.objects.filter(action="data.imported").count() == 1


def test_a_bad_row_imports_nothing_and_its_error_file_holds_just_that_row(
    world: World, client_as: Callable[[str], Client]
) -> None:
    admin = client_as("admin")
    before = stored_orders()
    token = upload(admin, csv_file([*GOOD_ROWS, BAD_ROW]))
    admin.post(reverse("facts:import_confirm", args=[token]))
    assert stored_orders() == before
    html = page(admin, token)
    assert 'data-testid="rejected"' in html
    assert counts(html)["rejected-count"] == "1"
    assert 'data-testid="error-file"' in html
    assert AuditEntry.objects.filter(action="data.import_rejected").count() == 1
    assert not AuditEntry.objects.filter(action="data.imported").exists()

    response = admin.get(reverse("facts:import_errors", args=[token]))
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert "orders.errors.csv" in response.headers["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][: len(HEADERS)] == HEADERS
    assert [r[0] for r in rows[1:]] == ["W-3"]
    assert "2026-13-45" in rows[1]

    assert (
        client_as("mgr_east").get(reverse("facts:import_errors", args=[token])).status_code == 403
    )
    listed = admin.get(IMPORTS).content.decode()
    assert "pill-bad" in listed


def test_the_error_file_cannot_be_reached_by_another_path(
    world: World, client_as: Callable[[str], Client], upload_dir: Path
) -> None:
    admin = client_as("admin")
    token = upload(admin, csv_file([BAD_ROW]))
    admin.post(reverse("facts:import_confirm", args=[token]))
    secret = upload_dir.parent / "secret.csv"
    secret.write_text("password\n")
    for path in (
        "/imports/..%2F..%2Fsecret.csv/errors/",
        "/imports/../secret.csv/errors/",
        "/imports/%2e%2e/errors/",
        f"/imports/{token}/..%2F..%2Fsecret.csv/",
        "/imports/AAAAAAAAAAAAAAAAAAAAAA/errors/",  # a token that is not one
    ):
        assert admin.get(path).status_code == 404, path
    # an upload record pointing elsewhere is refused too
    meta = upload_dir / token / "upload.json"
    data = json.loads(meta.read_text())
    data["error_file"] = "../../secret.csv"
    meta.write_text(json.dumps(data))
    assert admin.get(reverse("facts:import_errors", args=[token])).status_code == 404
    # and a good upload has no error file to give
    good = upload(admin, csv_file(GOOD_ROWS))
    assert admin.get(reverse("facts:import_errors", args=[good])).status_code == 404


# --- bad uploads ----------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_with_the_limit(
    world: World, client_as: Callable[[str], Client], settings: object, upload_dir: Path
) -> None:
    settings.FENJI_UPLOAD_MAX_BYTES = 200 * 1024  # type: ignore[attr-defined]
    big = csv_file([GOOD_ROWS[0]] * 5000)
    response = client_as("admin").post(IMPORTS, {"kind": "orders", "file": big})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="upload-error"' in html
    assert "MB" in html
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_a_file_of_another_type_is_refused(
    world: World, client_as: Callable[[str], Client]
) -> None:
    response = client_as("admin").post(
        IMPORTS, {"kind": "orders", "file": SimpleUploadedFile("orders.exe", b"MZ...")}
    )
    assert response.status_code == 400
    assert 'data-testid="upload-error"' in response.content.decode()
    missing = client_as("admin").post(IMPORTS, {"kind": "orders"})
    assert 'data-testid="field-error"' in missing.content.decode()


def test_an_uploaded_name_cannot_leave_its_folder(
    world: World, client_as: Callable[[str], Client], upload_dir: Path
) -> None:
    admin = client_as("admin")
    token = upload(admin, csv_file(GOOD_ROWS, name="../../订单 三月.csv"))
    found = upload_get(token=token)
    assert found is not None
    assert found.path.parent == (upload_dir / token).resolve()
    assert found.name.endswith(".csv")
    assert "/" not in found.name


# --- queries --------------------------------------------------------------------------------


def test_queries_of_the_imports_list_do_not_grow_with_imports(
    world: World,
    client_as: Callable[[str], Client],
    django_assert_max_num_queries: Callable[[int], object],
) -> None:
    admin = client_as("admin")
    for n in range(4):
        token = upload(
            admin, csv_file([[f"Q-{n}", "A-1", "dairy", "2026-03-05", "100", "1", "d", ""]])
        )
        admin.post(reverse("facts:import_confirm", args=[token]))
    admin.get(IMPORTS)
    with django_assert_max_num_queries(6):  # type: ignore[attr-defined]
        response = admin.get(IMPORTS)
    assert response.content.decode().count("<tr data-entry=") == 4


# --- retention ------------------------------------------------------------------------------


def test_uploads_older_than_the_retention_are_removed_by_the_next_upload(
    world: World, client_as: Callable[[str], Client], upload_dir: Path, settings: object
) -> None:
    import os
    import time

    settings.FENJI_UPLOAD_KEEP_DAYS = 30  # type: ignore[attr-defined]
    admin = client_as("admin")
    old = upload(admin, csv_file(GOOD_ROWS))
    recent = upload(admin, csv_file(GOOD_ROWS))
    # given an upload last touched 31 days ago, one 29 days ago, and a folder not of ours
    month = 86400 * 31
    os.utime(upload_dir / old, (time.time() - month, time.time() - month))
    os.utime(upload_dir / recent, (time.time() - 86400 * 29, time.time() - 86400 * 29))
    stranger = upload_dir / "notes"
    stranger.mkdir()
    os.utime(stranger, (time.time() - month, time.time() - month))

    # when another file is uploaded
    newest = upload(admin, csv_file(GOOD_ROWS))

    # then the old upload is gone (its page too), the others are kept
    assert not (upload_dir / old).exists()
    assert upload_get(token=old) is None
    assert admin.get(reverse("facts:import_detail", args=[old])).status_code == 404
    assert upload_get(token=recent) is not None
    assert upload_get(token=newest) is not None
    assert stranger.is_dir()
