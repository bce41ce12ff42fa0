"""Imports of customers and facts: all or nothing, idempotent, and honest about bad rows.

Each test writes a small file as a company would send it (Chinese headers, GB18030, Excel,
``1.5万``, ``2024年3月5日``), imports it with the service the CLI and UI call, and looks at the
database, the report and the error file.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from typer.testing import CliRunner

from fenji.cli import app
from fenji.web.accounts.models import AuditEntry
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.facts.importing.reading import ERROR_COLUMN, ImportSetupError
from fenji.web.facts.models import (
    Feedback,
    Interaction,
    MonthlyTarget,
    Order,
    Receivable,
    ScoreEvent,
)
from fenji.web.facts.services import import_file, import_folder

pytestmark = pytest.mark.django_db

ORDERS = ["order_id", "customer_id", "business_line", "order_date", "amount", "quantity", "channel"]


def write_csv(path: Path, rows: Sequence[Sequence[object]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        return list(csv.DictReader(source))


@pytest.fixture
def customers() -> list[Customer]:
    return [
        Customer.objects.create(external_id="C001", name="甲公司"),
        Customer.objects.create(external_id="C002", name="乙公司"),
    ]


def orders_file(tmp_path: Path, *rows: Sequence[object], name: str = "orders.csv") -> Path:
    return write_csv(tmp_path / name, [ORDERS, *rows])


# --- each kind ------------------------------------------------------------------------------


def test_customers_import_keeps_tags_and_extra_columns_as_attributes(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        [
            [
                "客户编号",
                "客户名称",
                "行业",
                "地区",
                "客户经理",
                "首次合作日期",
                "标签",
                "信用等级",
            ],
            ["C001", "甲公司", "制造", "华东", "li.na", "2021年3月5日", "重点、战略", "AA"],
            ["C002", "乙公司", "零售", "华南", "wang.wei", "2022-07-01", "", ""],
        ],
    )

    report = import_file(kind="customers", path=path)

    assert (report.created, report.updated, report.rejected, report.written) == (2, 0, 0, True)
    first = Customer.objects.get(external_id="C001")
    assert (first.name, first.industry, first.region, first.owner) == (
        "甲公司",
        "制造",
        "华东",
        "li.na",
    )
    assert first.first_deal_date == dt.date(2021, 3, 5)
    assert first.tags == ["重点", "战略"]
    assert first.attributes == {"信用等级": "AA"}
    second = Customer.objects.get(external_id="C002")
    assert (second.tags, second.attributes, second.scale) == ([], {}, "")


def test_orders_import_links_customers_and_creates_business_lines(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = orders_file(
        tmp_path,
        ["O1", "C001", "乳品", "2024-03-05", "100.50", "2", "direct"],
        ["O2", "C002", "休闲", "2024-03-06", "200", "", ""],
        ["O3", "C002", "", "2024-03-07", "300", "", "distributor"],
    )

    report = import_file(kind="orders", path=path)

    assert (report.created, report.rejected) == (3, 0)
    assert sorted(report.business_lines) == ["乳品", "休闲"]
    assert set(BusinessLine.objects.values_list("code", flat=True)) == {"乳品", "休闲"}
    o1 = Order.objects.get(external_id="O1")
    assert o1.customer == customers[0]
    assert o1.business_line is not None
    assert o1.business_line.code == "乳品"
    assert (o1.amount, o1.quantity, o1.channel) == (Decimal("100.5"), Decimal(2), "direct")
    o3 = Order.objects.get(external_id="O3")
    assert (o3.business_line, o3.quantity, o3.channel) == (None, None, "distributor")


def test_receivables_import_leaves_paid_date_empty_for_unpaid_invoices(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = write_csv(
        tmp_path / "receivables.csv",
        [
            ["发票编号", "客户编号", "到期日", "金额", "回款日期"],
            ["I1", "C001", "2024-03-31", "1,234.56", "2024-04-02"],
            ["I2", "C002", "2024/4/30", "500", ""],
        ],
    )

    report = import_file(kind="receivables", path=path)

    assert report.created == 2
    i1, i2 = Receivable.objects.order_by("external_id")
    assert (i1.amount, i1.paid_date) == (Decimal("1234.56"), dt.date(2024, 4, 2))
    assert (i2.due_date, i2.paid_date) == (dt.date(2024, 4, 30), None)


def test_targets_are_matched_by_customer_line_and_month(
    tmp_path: Path, customers: list[Customer]
) -> None:
    rows = [
        ["customer_id", "business_line", "month", "target_amount"],
        ["C001", "乳品", "2024-03", "10万"],
        ["C001", "", "2024年3月", "5000"],  # no business line: a target for the whole customer
        ["C002", "乳品", "2024-04", "8000"],
    ]
    path = write_csv(tmp_path / "targets.csv", rows)

    # given
    assert import_file(kind="targets", path=path).created == 3
    # when the same targets come again, one of them changed
    rows[3][3] = "9000"
    again = import_file(kind="targets", path=write_csv(tmp_path / "targets2.csv", rows))

    # then
    assert (again.created, again.updated, again.unchanged) == (0, 1, 2)
    assert MonthlyTarget.objects.count() == 3
    whole = MonthlyTarget.objects.get(customer=customers[0], business_line=None)
    assert (whole.month, whole.target_amount) == (dt.date(2024, 3, 1), Decimal(5000))
    assert MonthlyTarget.objects.get(customer=customers[1]).target_amount == Decimal(9000)


def test_score_events_import_reads_red_line_written_as_yes_or_no(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = write_csv(
        tmp_path / "score_events.csv",
        [
            ["事件编号", "客户编号", "事件日期", "事项", "分值", "红线"],
            ["E1", "C001", "2024-05-04", "质量投诉", "-5", "是"],
            ["E2", "C002", "2024-05-05", "市场建议", "1", ""],
        ],
    )

    assert import_file(kind="score_events", path=path).created == 2
    e1, e2 = ScoreEvent.objects.order_by("external_id")
    assert (e1.item, e1.points, e1.red_line) == ("质量投诉", Decimal(-5), True)
    assert e2.red_line is False  # blank: the column's default


# --- formats, encodings, headers and values as Chinese ERPs write them ----------------------


def test_gb18030_csv_with_chinese_headers_and_chinese_values(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = write_csv(
        tmp_path / "订单.csv",
        [
            ["订单编号", "客户编号", "产品线", "下单日期", "金额（元）", "数量", "渠道"],
            ["O1", "C001", "乳品", "2024年3月5日", "1.5万", "１２", "直营"],
            ["O2", "C002", "乳品", "2024/3/6", "￥1,234", "3", "经销"],
        ],
        encoding="gb18030",
    )

    report = import_file(kind="orders", path=path)

    assert (report.created, report.rejected) == (2, 0)
    o1, o2 = Order.objects.order_by("external_id")
    assert (o1.order_date, o1.amount, o1.quantity, o1.channel) == (
        dt.date(2024, 3, 5),
        Decimal(15000),
        Decimal(12),
        "直营",
    )
    assert (o2.order_date, o2.amount) == (dt.date(2024, 3, 6), Decimal(1234))


def test_xlsx_sheet_with_chinese_headers_excel_dates_and_a_title_row(
    tmp_path: Path, customers: list[Customer]
) -> None:
    book = openpyxl.Workbook()
    book.active.title = "说明"
    sheet = book.create_sheet("订单")
    sheet.append(["2024年3月订单导出"])  # a title above the header, as ERPs write
    sheet.append(["订单号", "客户编号", "订单日期", "金额", "数量"])
    sheet.append(["O1", "C001", dt.datetime(2024, 3, 5), 1234.5, 2])
    sheet.append(["O2", "C002", 45357, "1.5万", None])  # an Excel serial day: 2024-03-06
    path = tmp_path / "orders.xlsx"
    book.save(path)

    report = import_file(kind="orders", path=path, sheet="订单")

    assert (report.created, report.rejected) == (2, 0), report.issues
    o1, o2 = Order.objects.order_by("external_id")
    assert (o1.order_date, o1.amount, o1.quantity) == (dt.date(2024, 3, 5), Decimal("1234.5"), 2)
    assert (o2.order_date, o2.amount, o2.quantity) == (dt.date(2024, 3, 6), Decimal(15000), None)


def test_parquet_file_with_its_own_types(tmp_path: Path, customers: list[Customer]) -> None:
    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table(
            {
                "order_id": ["O1", "O2"],
                "customer_id": ["C001", "C002"],
                "order_date": pa.array([dt.date(2024, 3, 5), dt.date(2024, 3, 6)]),
                "amount": pa.array([100.25, 2000.0]),
            }
        ),
        path,
    )

    assert import_file(kind="orders", path=path).created == 2
    assert Order.objects.get(external_id="O1").amount == Decimal("100.25")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_mapping_file_names_headers_the_built_in_recognition_does_not_know(
    tmp_path: Path, customers: list[Customer], suffix: str
) -> None:
    mapping = {"单据号": "order_id", "往来单位": "customer_id", "单据日期": "order_date"}
    mapping_path = tmp_path / f"mapping{suffix}"
    if suffix == ".json":
        mapping_path.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    else:
        mapping_path.write_text(
            "".join(f"{k}: {v}\n" for k, v in mapping.items()), encoding="utf-8"
        )
    path = write_csv(
        tmp_path / "erp.csv",
        [["单据号", "往来单位", "单据日期", "金额"], ["O1", "C001", "2024-03-05", "10"]],
    )

    report = import_file(kind="orders", path=path, mapping=mapping_path)

    assert report.created == 1
    assert Order.objects.get().customer == customers[0]


def test_mapping_to_a_column_the_kind_does_not_have_is_refused(tmp_path: Path) -> None:
    mapping_path = tmp_path / "mapping.yaml"
    mapping_path.write_text("单据号: invoice_no\n", encoding="utf-8")

    with pytest.raises(ImportSetupError, match="invoice_no"):
        import_file(kind="orders", path=tmp_path / "orders.csv", mapping=mapping_path)


# --- a bad row changes nothing, and comes back in the error file ----------------------------


def test_file_with_a_bad_row_changes_nothing(tmp_path: Path, customers: list[Customer]) -> None:
    # given
    import_file(
        kind="orders",
        path=orders_file(tmp_path, ["O1", "C001", "乳品", "2024-03-05", "100", "", ""]),
    )
    audits = AuditEntry.objects.count()
    # when a file updates O1, adds O2 and has one bad row
    path = orders_file(
        tmp_path,
        ["O1", "C001", "乳品", "2024-03-05", "200", "", ""],
        ["O2", "C002", "新品", "2024-03-06", "300", "", ""],
        ["O3", "C002", "乳品", "2024-02-30", "400", "", ""],
        name="orders2.csv",
    )
    report = import_file(kind="orders", path=path)

    # then
    assert (report.written, report.rejected, report.created, report.updated) == (False, 1, 1, 1)
    assert [(i.code, i.row, i.column, i.value) for i in report.issues] == [
        ("io.bad_date", 4, "order_date", "2024-02-30")
    ]
    assert list(Order.objects.values_list("external_id", "amount")) == [("O1", Decimal(100))]
    assert not BusinessLine.objects.filter(code="新品").exists()
    assert AuditEntry.objects.count() == audits


def test_error_file_holds_exactly_the_bad_rows_and_reimports_after_correction(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = orders_file(
        tmp_path,
        ["O1", "C001", "乳品", "2024-03-05", "100", "", ""],
        ["O2", "C001", "乳品", "2024-03-05", "一百", "", ""],
        ["O3", "C002", "乳品", "2024-03-06", "300", "", ""],
        ["O4", "C999", "乳品", "2024-03-07", "400", "", "direct"],
    )

    # given a rejected file
    report = import_file(kind="orders", path=path)
    assert report.error_file == tmp_path / "orders.errors.csv"
    rejected = read_csv(report.error_file)

    # then the error file holds the two bad rows as written, with what is wrong
    assert [r["order_id"] for r in rejected] == ["O2", "O4"]
    assert [r["amount"] for r in rejected] == ["一百", "400"]
    assert list(rejected[0]) == [*ORDERS, ERROR_COLUMN]
    assert "第 3 行" in rejected[0][ERROR_COLUMN]
    assert "amount" in rejected[0][ERROR_COLUMN]
    assert "C999" in rejected[1][ERROR_COLUMN]

    # when the rows are corrected in the error file and it is imported as it is
    rejected[0]["amount"] = "100"
    rejected[1]["customer_id"] = "C002"
    with report.error_file.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rejected[0]))
        writer.writeheader()
        writer.writerows(rejected)
    corrected = import_file(kind="orders", path=report.error_file)

    # then
    assert (corrected.created, corrected.rejected, corrected.written) == (2, 0, True)
    assert set(Order.objects.values_list("external_id", flat=True)) == {"O2", "O4"}
    assert Order.objects.get(external_id="O4").customer == customers[1]


def test_error_file_can_be_written_where_asked_and_as_xlsx(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = orders_file(tmp_path, ["O1", "C001", "", "soon", "100", "", ""])
    target = tmp_path / "out" / "rejected.xlsx"

    report = import_file(kind="orders", path=path, errors_path=target, lang="en")

    assert report.error_file == target
    rows = list(openpyxl.load_workbook(target).active.iter_rows(values_only=True))
    assert rows[0][-1] == ERROR_COLUMN
    assert rows[1][0] == "O1"
    assert str(rows[1][-1]).startswith("row 2: column order_date")


def test_malformed_csv_line_goes_to_the_error_file(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        ",".join(ORDERS) + "\nO1,C001,乳品,2024-03-05,100,,\nO2,C001,乳品,2024-03-05,1,234,,\n",
        encoding="utf-8",
    )

    report = import_file(kind="orders", path=path)

    assert (report.rejected, report.issues[0].code) == (1, "io.bad_row")
    assert report.error_file is not None
    rejected = read_csv(report.error_file)
    assert [r["order_id"] for r in rejected] == ["O2"]
    assert Order.objects.count() == 0


def test_missing_required_column_rejects_the_whole_file(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = write_csv(
        tmp_path / "orders.csv",
        [["order_id", "customer_id", "order_date"], ["O1", "C001", "2024-03-05"]],
    )

    report = import_file(kind="orders", path=path)

    assert [(i.code, i.column) for i in report.issues] == [("io.missing_column", "amount")]
    assert (report.rejected, report.error_file, report.written) == (1, None, False)


# --- idempotent upsert ----------------------------------------------------------------------


def test_second_import_of_the_same_file_changes_nothing(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = orders_file(
        tmp_path,
        ["O1", "C001", "乳品", "2024-03-05", "100.5", "2", "direct"],
        ["O2", "C002", "", "2024-03-06", "0.0001", "", ""],
    )
    customers_path = write_csv(
        tmp_path / "customers.csv",
        [
            ["customer_id", "name", "标签", "等级"],
            ["C001", "甲公司", "重点", "A"],
            ["C009", '新客户 "总部", 华东\n二部', "", '{"x": 1}'],  # quotes, comma, line break
        ],
    )

    # given
    import_file(kind="orders", path=path)
    import_file(kind="customers", path=customers_path)
    stored = list(Order.objects.order_by("id").values())
    stamps = list(Customer.objects.order_by("id").values_list("updated_at", flat=True))

    # when
    orders_again = import_file(kind="orders", path=path)
    customers_again = import_file(kind="customers", path=customers_path)

    # then
    assert (orders_again.created, orders_again.updated, orders_again.unchanged) == (0, 0, 2)
    assert (customers_again.created, customers_again.updated, customers_again.unchanged) == (
        0,
        0,
        2,
    )
    assert list(Order.objects.order_by("id").values()) == stored
    assert list(Customer.objects.order_by("id").values_list("updated_at", flat=True)) == stamps
    assert BusinessLine.objects.count() == 1


def test_changed_cells_update_the_stored_rows(tmp_path: Path, customers: list[Customer]) -> None:
    import_file(
        kind="orders",
        path=orders_file(
            tmp_path,
            ["O1", "C001", "乳品", "2024-03-05", "100", "", ""],
            ["O2", "C001", "乳品", "2024-03-05", "5", "", ""],
        ),
    )

    report = import_file(
        kind="orders",
        path=orders_file(
            tmp_path,
            ["O1", "C002", "休闲", "2024-03-05", "100", "", ""],
            ["O2", "C001", "乳品", "2024-03-05", "5", "", ""],
            name="again.csv",
        ),
    )

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    o1 = Order.objects.get(external_id="O1")
    assert o1.customer == customers[1]
    assert o1.business_line is not None
    assert o1.business_line.code == "休闲"


def test_blank_cell_keeps_the_stored_value(tmp_path: Path, customers: list[Customer]) -> None:
    # given
    import_file(
        kind="orders",
        path=orders_file(tmp_path, ["O1", "C001", "乳品", "2024-03-05", "100", "5", "direct"]),
    )
    import_file(
        kind="customers",
        path=write_csv(
            tmp_path / "c1.csv",
            [
                ["customer_id", "name", "region", "标签", "等级", "信用"],
                ["C001", "甲公司", "华东", "重点", "A", "良"],
            ],
        ),
    )

    # when the same rows come with blank cells and one new value each
    orders = import_file(
        kind="orders",
        path=orders_file(tmp_path, ["O1", "C001", "", "2024-03-05", "120", "", ""], name="o2.csv"),
    )
    people = import_file(
        kind="customers",
        path=write_csv(
            tmp_path / "c2.csv",
            [
                ["customer_id", "name", "region", "标签", "等级", "备注"],
                ["C001", "", "华南", "", "", "老客户"],
            ],
        ),
    )

    # then only the new values changed
    assert (orders.updated, people.updated) == (1, 1)
    o1 = Order.objects.get(external_id="O1")
    assert (o1.amount, o1.quantity, o1.channel) == (Decimal(120), Decimal(5), "direct")
    assert o1.business_line is not None
    assert o1.business_line.code == "乳品"
    c1 = Customer.objects.get(external_id="C001")
    assert (c1.name, c1.region, c1.tags) == ("甲公司", "华南", ["重点"])
    assert c1.attributes == {"等级": "A", "信用": "良", "备注": "老客户"}


# --- what the database would not take --------------------------------------------------------


def test_duplicate_keys_inside_one_file_are_reported(
    tmp_path: Path, customers: list[Customer]
) -> None:
    orders = import_file(
        kind="orders",
        path=orders_file(
            tmp_path,
            ["O1", "C001", "", "2024-03-05", "1", "", ""],
            ["O1", "C002", "", "2024-03-06", "2", "", ""],
        ),
    )
    targets = import_file(
        kind="targets",
        path=write_csv(
            tmp_path / "targets.csv",
            [
                ["customer_id", "business_line", "month", "target_amount"],
                ["C001", "", "2024-03", "1"],
                ["C001", "", "2024年3月", "2"],
            ],
        ),
    )

    assert [(i.code, i.row, i.value) for i in orders.issues] == [("io.duplicate_key", 3, "O1")]
    assert [(i.code, i.row) for i in targets.issues] == [("io.duplicate_key", 3)]
    assert Order.objects.count() == MonthlyTarget.objects.count() == 0


def test_fact_of_a_customer_not_in_the_database_is_rejected(
    tmp_path: Path, customers: list[Customer]
) -> None:
    report = import_file(
        kind="orders",
        path=orders_file(
            tmp_path,
            ["O1", "C001", "", "2024-03-05", "1", "", ""],
            ["O2", "C404", "", "2024-03-05", "1", "", ""],
        ),
    )

    assert [(i.code, i.row, i.column, i.value) for i in report.issues] == [
        ("io.unknown_customer", 3, "customer_id", "C404")
    ]
    assert "C404" in report.issues[0].message_zh
    assert Order.objects.count() == 0


def test_facts_may_refer_to_customers_of_the_same_import(tmp_path: Path) -> None:
    write_csv(tmp_path / "customers.csv", [["customer_id", "name"], ["C100", "新客户"]])
    orders_file(tmp_path, ["O1", "C100", "乳品", "2024-03-05", "1", "", ""])
    write_csv(
        tmp_path / "targets.csv",
        [
            ["customer_id", "business_line", "month", "target_amount"],
            ["C100", "乳品", "2024-03", "10"],
        ],
    )

    reports = import_folder(directory=tmp_path)

    assert [(r.kind, r.created, r.written) for r in reports] == [
        ("customers", 1, True),
        ("orders", 1, True),
        ("targets", 1, True),
    ]
    customer = Customer.objects.get(external_id="C100")
    assert Order.objects.get().customer == customer
    assert MonthlyTarget.objects.get().customer == customer
    assert AuditEntry.objects.filter(action="data.imported").count() == 3


def test_a_bad_file_in_a_folder_import_changes_nothing_in_any_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "customers.csv", [["customer_id", "name"], ["C100", "新客户"]])
    orders_file(
        tmp_path,
        ["O1", "C100", "", "2024-03-05", "1", "", ""],
        ["O2", "C100", "", "2024-03-05", "x", "", ""],
    )

    customers, orders = import_folder(directory=tmp_path)

    assert (customers.ok, customers.written, orders.ok, orders.rejected) == (True, False, False, 1)
    assert Customer.objects.count() == Order.objects.count() == 0


def test_value_longer_than_its_column_is_rejected(
    tmp_path: Path, customers: list[Customer]
) -> None:
    report = import_file(
        kind="orders", path=orders_file(tmp_path, ["O" * 65, "C001", "", "2024-03-05", "1", "", ""])
    )

    assert [(i.code, i.column) for i in report.issues] == [("io.too_long", "order_id")]
    assert "64" in report.issues[0].message


# --- dry run, audit, progress ---------------------------------------------------------------


def test_dry_run_reports_what_would_change_and_has_no_side_effects(
    tmp_path: Path, customers: list[Customer]
) -> None:
    # given
    import_file(
        kind="orders",
        path=orders_file(
            tmp_path,
            ["O1", "C001", "乳品", "2024-03-05", "1", "", ""],
            ["O2", "C001", "乳品", "2024-03-05", "2", "", ""],
        ),
    )
    before = (Order.objects.count(), BusinessLine.objects.count(), AuditEntry.objects.count())
    stored = list(Order.objects.order_by("id").values())
    path = orders_file(
        tmp_path,
        ["O1", "C001", "乳品", "2024-03-05", "1", "", ""],
        ["O2", "C001", "乳品", "2024-03-05", "20", "", ""],
        ["O3", "C002", "新品", "2024-03-05", "3", "", ""],
        ["O4", "C404", "乳品", "2024-03-05", "4", "", ""],
        name="next.csv",
    )

    # when
    report = import_file(kind="orders", path=path, dry_run=True)

    # then
    assert (report.created, report.updated, report.unchanged, report.rejected) == (1, 1, 1, 1)
    assert (report.dry_run, report.written, report.business_lines) == (True, False, ("新品",))
    assert report.error_file is None
    assert not (tmp_path / "next.errors.csv").exists()
    assert (
        Order.objects.count(),
        BusinessLine.objects.count(),
        AuditEntry.objects.count(),
    ) == before
    assert list(Order.objects.order_by("id").values()) == stored


def test_each_import_is_audited_with_its_file_and_counts(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = orders_file(tmp_path, ["O1", "C001", "乳品", "2024-03-05", "1", "", ""])

    import_file(kind="orders", path=path, actor="cli")

    entry = AuditEntry.objects.get(action="data.imported")
    assert (entry.actor, entry.object_type, entry.object_id) == ("cli", "orders", "orders.csv")
    assert entry.details["file"] == str(path)
    assert (entry.details["created"], entry.details["updated"], entry.details["rows"]) == (1, 0, 1)
    assert entry.details["business_lines"] == ["乳品"]


def test_progress_is_reported_for_every_stage(tmp_path: Path, customers: list[Customer]) -> None:
    seen: list[tuple[str, int, int]] = []
    path = orders_file(tmp_path, ["O1", "C001", "", "2024-03-05", "1", "", ""])

    import_file(kind="orders", path=path, progress=lambda *step: seen.append(step))

    assert [stage for stage, _, _ in seen] == [
        "read",
        "read",
        "check",
        "check",
        "write",
        "write",
        "commit",
        "commit",
    ]
    assert ("write", 1, 1) in seen


# --- the command ----------------------------------------------------------------------------

runner = CliRunner()


def test_cli_imports_a_file_and_prints_a_summary(tmp_path: Path, customers: list[Customer]) -> None:
    path = orders_file(tmp_path, ["O1", "C001", "乳品", "2024-03-05", "1", "", ""])

    result = runner.invoke(app, ["import", "orders", str(path)])

    assert result.exit_code == 0, result.output
    assert "导入完成" in result.output
    assert "新增" in result.output
    assert Order.objects.count() == 1


def test_cli_exits_1_and_lists_the_issues_of_a_rejected_file(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = orders_file(tmp_path, ["O1", "C404", "", "2024-03-05", "1", "", ""])
    out = tmp_path / "bad-rows.csv"

    result = runner.invoke(
        app, ["import", "orders", str(path), "--errors", str(out), "--lang", "en"]
    )

    assert result.exit_code == 1
    assert "Import rejected" in result.output
    assert "row 2, column customer_id, value 'C404'" in result.output
    assert str(out) in result.output
    assert out.exists()
    assert Order.objects.count() == 0


def test_cli_dry_run_writes_nothing(tmp_path: Path, customers: list[Customer]) -> None:
    path = orders_file(tmp_path, ["O1", "C001", "", "2024-03-05", "1", "", ""])

    result = runner.invoke(app, ["import", "orders", str(path), "--dry-run", "--lang", "en"])

    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output
    assert Order.objects.count() == 0


def test_cli_imports_a_folder_customers_first(tmp_path: Path) -> None:
    write_csv(tmp_path / "customers.csv", [["客户编号", "客户名称"], ["C100", "新客户"]])
    orders_file(tmp_path, ["O1", "C100", "乳品", "2024-03-05", "1", "", ""])

    result = runner.invoke(app, ["import", "all", str(tmp_path), "--lang", "en"])

    assert result.exit_code == 0, result.output
    assert "new business lines: 乳品" in result.output
    assert Order.objects.get().customer.external_id == "C100"


def test_cli_exits_2_for_an_unknown_kind(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "invoices", str(tmp_path / "x.csv")])

    assert result.exit_code == 2
    assert "unknown kind 'invoices'" in result.output


@pytest.mark.parametrize("keyed_max", [0, 20_000], ids=["table-scan", "keyed-lookup"])
def test_small_batches_and_both_lookup_paths_give_the_same_result(
    tmp_path: Path, customers: list[Customer], monkeypatch: pytest.MonkeyPatch, keyed_max: int
) -> None:
    # Large files read stored rows by scanning the table and write in batches; shrink the
    # thresholds so that a small file takes those paths too.
    from fenji.web.facts.importing import database, plan

    monkeypatch.setattr(plan, "KEYED_LOOKUP_MAX", keyed_max)
    monkeypatch.setattr(database, "WRITE_BATCH_ROWS", 2)
    monkeypatch.setattr(database, "FETCH_ROWS", 2)
    monkeypatch.setattr(database.Backend, "keys_per_query", lambda self: 2)
    monkeypatch.setattr(database.SqliteBackend, "keys_per_query", lambda self: 2)
    monkeypatch.setattr(database.PostgresBackend, "keys_per_query", lambda self: 2)
    rows = [[f"O{i}", f"C00{1 + i % 2}", "乳品", "2024-03-05", str(i), "", ""] for i in range(7)]
    import_file(kind="orders", path=orders_file(tmp_path, *rows))
    rows[3][4] = "333"
    rows[5][1] = "C001"

    report = import_file(kind="orders", path=orders_file(tmp_path, *rows, name="again.csv"))

    assert (report.created, report.updated, report.unchanged) == (0, 2, 5)
    assert Order.objects.count() == 7
    assert Order.objects.get(external_id="O3").amount == Decimal(333)
    assert Order.objects.get(external_id="O5").customer == customers[0]


# --- follow-ups (跟进记录) and feedback (满意度、投诉) ------------------------------------------

FOLLOW_UP_HEADERS = [
    "跟进编号",
    "客户编号",
    "跟进方式",
    "跟进日期",
    "跟进人",
    "备注",
    "下次跟进日期",
]


@pytest.fixture
def reps() -> dict[str, object]:
    model = get_user_model()
    return {login: model.objects.create_user(login) for login in ("li.na", "wang.wei")}


def test_follow_ups_import_with_chinese_headers_kinds_and_logins(
    tmp_path: Path, customers: list[Customer], reps: dict[str, object]
) -> None:
    rows = [
        FOLLOW_UP_HEADERS,
        ["F1", "C001", "拜访", "2024年3月5日", "li.na", "沟通春节备货计划", "2024-03-20"],
        ["F2", "C001", "电话", "2024-03-06", "Li.Na", "", ""],  # login in another case
        ["F3", "C002", "Email", "2024/3/7", "", "寄送报价单", ""],  # nobody: user stays empty
        ["F4", "C002", "会议", "2024-03-08", "wang.wei", "季度回顾", ""],
    ]
    Interaction.objects.create(  # written in the UI: no external id, never matched
        customer=customers[0], kind="call", happened_on=dt.date(2024, 1, 2)
    )

    report = import_file(kind="interactions", path=write_csv(tmp_path / "跟进.csv", rows))

    assert (report.created, report.rejected, report.written) == (4, 0, True)
    stored = {i.external_id: i for i in Interaction.objects.exclude(external_id=None)}
    f1 = stored["F1"]
    assert (f1.customer, f1.kind, f1.happened_on, f1.user) == (
        customers[0],
        "visit",
        dt.date(2024, 3, 5),
        reps["li.na"],
    )
    assert (f1.note, f1.next_due) == ("沟通春节备货计划", dt.date(2024, 3, 20))
    assert [stored[k].kind for k in ("F2", "F3", "F4")] == ["call", "email", "meeting"]
    assert (stored["F2"].user, stored["F3"].user, stored["F3"].note) == (
        reps["li.na"],
        None,
        "寄送报价单",
    )
    # when the same export comes again, with one note completed
    again = import_file(kind="interactions", path=write_csv(tmp_path / "again.csv", rows))
    rows[2][5] = "确认回款"
    changed = import_file(kind="interactions", path=write_csv(tmp_path / "changed.csv", rows))
    # then nothing is duplicated, and only that row is updated
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 3)
    assert Interaction.objects.count() == 5
    assert Interaction.objects.get(external_id="F2").note == "确认回款"


def test_follow_up_rows_with_an_unknown_kind_login_or_customer_are_rejected_with_the_cell(
    tmp_path: Path, customers: list[Customer], reps: dict[str, object]
) -> None:
    path = write_csv(
        tmp_path / "interactions.csv",
        [
            FOLLOW_UP_HEADERS,
            ["F1", "C001", "拜访", "2024-03-05", "li.na", "", ""],
            ["F2", "C001", "微信", "2024-03-06", "li.na", "", ""],
            ["F3", "C001", "电话", "2024-03-07", "zhang.san", "", ""],
            ["F4", "C404", "电话", "2024-03-08", "li.na", "", ""],
            ["F5", "C002", "电话", "2024-03-09", "li.na", "", "下周"],
        ],
    )

    report = import_file(kind="interactions", path=path, lang="en")

    assert (report.written, report.rejected) == (False, 4)
    found = sorted((i.row, i.column, i.value, i.code) for i in report.issues)
    assert found == [
        (3, "kind", "微信", "io.bad_choice"),
        (4, "user", "zhang.san", "io.unknown_user"),
        (5, "customer_id", "C404", "io.unknown_customer"),
        (6, "next_due", "下周", "io.bad_date"),
    ]
    assert all(i.file == str(path) for i in report.issues)
    assert "拜访" in report.issues[0].message_zh  # says what may be written instead
    assert Interaction.objects.count() == 0
    assert [r["跟进编号"] for r in read_csv(tmp_path / "interactions.errors.csv")] == [
        "F2",
        "F3",
        "F4",
        "F5",
    ]


def test_feedback_import_reads_satisfaction_scores_and_complaints(
    tmp_path: Path, customers: list[Customer]
) -> None:
    rows = [
        ["反馈编号", "客户编号", "反馈类型", "反馈日期", "满意度", "投诉内容"],
        ["S1", "C001", "满意度", "2024-06-30", "4.5", ""],
        ["S2", "C002", "satisfaction", "2024-06-30", "2", ""],
        ["K1", "C002", "投诉", "2024-07-02", "", "配送延迟两天，影响门店上架"],
    ]

    report = import_file(kind="feedback", path=write_csv(tmp_path / "feedback.csv", rows))
    again = import_file(kind="feedback", path=write_csv(tmp_path / "again.csv", rows))

    assert report.created == 3
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    s1, s2 = Feedback.objects.filter(kind="satisfaction").order_by("external_id")
    assert (s1.customer, s1.received_on, s1.score) == (
        customers[0],
        dt.date(2024, 6, 30),
        Decimal("4.5"),
    )
    assert s2.score == Decimal(2)
    complaint = Feedback.objects.get(kind="complaint")
    assert (complaint.external_id, complaint.score, complaint.text) == (
        "K1",
        None,
        "配送延迟两天，影响门店上架",
    )


def test_feedback_scores_the_column_cannot_hold_are_rejected(
    tmp_path: Path, customers: list[Customer]
) -> None:
    path = write_csv(
        tmp_path / "feedback.csv",
        [
            ["feedback_id", "customer_id", "kind", "date", "score"],
            ["S1", "C001", "satisfaction", "2024-06-30", "1000"],
            ["S2", "C001", "satisfaction", "2024-06-30", "4.125"],
            ["S3", "C001", "satisfaction", "2024-06-30", "-1"],
            ["S4", "C001", "praise", "2024-06-30", "5"],
            ["S5", "C001", "satisfaction", "2024-06-30", "999.99"],
        ],
    )

    report = import_file(kind="feedback", path=path)

    assert sorted((i.row, i.column, i.value, i.code) for i in report.issues) == [
        (2, "score", "1000", "io.out_of_range"),
        (3, "score", "4.125", "io.out_of_range"),
        (4, "score", "-1", "io.out_of_range"),
        (5, "kind", "praise", "io.bad_choice"),
    ]
    assert Feedback.objects.count() == 0


def test_external_ids_of_follow_ups_and_feedback_are_unique_when_given(
    customers: list[Customer],
) -> None:
    day = dt.date(2024, 3, 5)
    for _ in range(2):  # follow-ups entered in the UI have no external id: any number of them
        Interaction.objects.create(customer=customers[0], kind="visit", happened_on=day)
        Feedback.objects.create(customer=customers[0], kind="complaint", received_on=day)
    Interaction.objects.create(
        customer=customers[0], kind="visit", happened_on=day, external_id="F"
    )
    Feedback.objects.create(
        customer=customers[0], kind="complaint", received_on=day, external_id="K"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.create(
            customer=customers[1], kind="call", happened_on=day, external_id="F"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.create(
            customer=customers[1], kind="complaint", received_on=day, external_id="K"
        )


def test_folder_import_takes_follow_ups_and_feedback_of_customers_of_the_same_import(
    tmp_path: Path, reps: dict[str, object]
) -> None:
    write_csv(tmp_path / "customers.csv", [["customer_id", "owner"], ["C100", "li.na"]])
    write_csv(
        tmp_path / "interactions.csv",
        [FOLLOW_UP_HEADERS, ["F1", "C100", "拜访", "2024-03-05", "li.na", "", ""]],
    )
    write_csv(
        tmp_path / "feedback.csv",
        [
            ["反馈编号", "客户编号", "类型", "日期", "评分"],
            ["S1", "C100", "满意度", "2024-03-31", "5"],
        ],
    )

    result = runner.invoke(app, ["import", "all", str(tmp_path), "--lang", "en"])

    assert result.exit_code == 0, result.output
    customer = Customer.objects.get(external_id="C100")
    assert Interaction.objects.get().customer == customer
    assert (Feedback.objects.get().customer, Feedback.objects.get().score) == (customer, 5)
    imported = AuditEntry.objects.filter(action="data.imported")
    assert sorted(imported.values_list("object_type", flat=True)) == [
        "customers",
        "feedback",
        "interactions",
    ]


def test_cli_imports_follow_ups_and_lists_bad_cells(
    tmp_path: Path, customers: list[Customer], reps: dict[str, object]
) -> None:
    path = write_csv(
        tmp_path / "visits.csv",
        [FOLLOW_UP_HEADERS, ["F1", "C001", "见面", "2024-03-05", "li.na", "", ""]],
    )

    bad = runner.invoke(app, ["import", "interactions", str(path), "--lang", "en"])
    path.write_text(path.read_text(encoding="utf-8").replace("见面", "拜访"), encoding="utf-8")
    good = runner.invoke(app, ["import", "interactions", str(path)])

    assert bad.exit_code == 1
    assert "row 2, column kind, value '见面'" in bad.output
    assert good.exit_code == 0, good.output
    assert Interaction.objects.get().kind == "visit"
