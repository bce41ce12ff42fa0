"""Which column of a file is which canonical column: header names as people write them.

Files come from ERPs and hand-made spreadsheets, so a header may be the canonical name in any
case (``Customer_ID``), the English label (``customer id``), the Chinese label from the catalogue
(``客户编号``), a common synonym (``客户ID``, ``下单日期``), or carry a unit or a required-field
star (``金额（元）``, ``客户编号*``). All of these are recognised; anything else is kept as an extra
column under its own name (a custom attribute). A caller can also map headers explicitly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Final

from fenji.io.errors import DataIssue, Reason
from fenji.policy.sources import ColumnType, Source

#: Synonyms seen in Chinese ERPs and templates, by canonical column name. A column's own name,
#: ``zh`` and ``en`` labels from the catalogue are recognised too and win over these.
HEADER_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "customer_id": ("客户编号", "客户ID", "客户代码", "客户编码", "客户号", "cust_id"),
    "name": ("客户名称", "客户名", "名称", "customer name"),
    "industry": ("行业", "所属行业"),
    "region": ("地区", "区域", "所属区域", "所在地区"),
    "scale": ("规模", "企业规模", "客户规模"),
    "owner": ("客户经理", "负责人", "业务员", "销售负责人"),
    "first_deal_date": ("首次合作日期", "首次合作时间", "首次交易日期"),
    "influence": ("行业影响力", "影响力"),
    "order_id": ("订单编号", "订单号", "单号"),
    "business_line": ("业务线", "产品线"),
    "order_date": ("订单日期", "下单日期", "下单时间"),
    "amount": ("金额", "订单金额", "销售额", "应收金额", "发票金额"),
    "quantity": ("数量", "采购量", "销量"),
    "channel": ("渠道", "销售渠道"),
    "status": ("状态", "订单状态"),
    "invoice_id": ("发票编号", "发票号", "发票号码"),
    "due_date": ("到期日", "到期日期", "应收日期"),
    "paid_date": ("回款日期", "付款日期", "收款日期"),
    "month": ("月份", "月"),
    "target_amount": ("目标金额", "目标", "月度目标"),
    "event_id": ("事件编号", "事件号"),
    "event_date": ("事件日期", "发生日期"),
    "item": ("事项", "项目"),
    "points": ("分值", "分数", "得分"),
    "red_line": ("红线", "是否红线"),
}

# A unit or remark in brackets at the end ("金额（元）", "数量 (吨)") and required-field stars.
_TRAILING_NOTE = re.compile(r"[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]$")
_IGNORED = re.compile(r"[\s_\-.*:：]+")


def header_key(text: str) -> str:
    """The form under which headers are compared: width-, case-, space- and unit-insensitive."""
    key = unicodedata.normalize("NFKC", text).strip().casefold()
    key = _IGNORED.sub("", key)
    previous = None
    while previous != key:
        previous, key = key, _TRAILING_NOTE.sub("", key)
    return key


def accepted_headers(source: Source, column: str) -> list[str]:
    """The headers recognised for ``column`` of ``source``, the canonical name first."""
    col = source.column(column)
    names = [col.name, col.zh, col.en, *HEADER_ALIASES.get(col.name, ())]
    seen: dict[str, str] = {}
    for name in names:
        if name and header_key(name) not in seen:
            seen[header_key(name)] = name
    return list(seen.values())


def _lookup(source: Source) -> dict[str, str]:
    table: dict[str, str] = {}
    # Synonyms first, so that a column's own labels win when two columns share a synonym.
    for col in source.columns:
        for alias in HEADER_ALIASES.get(col.name, ()):
            table[header_key(alias)] = col.name
    for col in source.columns:
        for label in (col.name, col.zh, col.en):
            if label:
                table[header_key(label)] = col.name
    return table


def resolve_headers(
    headers: Sequence[str],
    source: Source,
    explicit: Mapping[str, str] | None,
    *,
    file: str,
) -> tuple[list[str], list[DataIssue]]:
    """The name each file column gets (canonical, or its own header for an extra column).

    ``explicit`` maps file headers to names and takes precedence; keys that are not in the file
    are ignored so that one mapping can serve several files. Two file columns that resolve to the
    same name, and required columns that no header resolves to, are issues.
    """
    lookup = _lookup(source)
    chosen = {header_key(k): v for k, v in (explicit or {}).items()}
    names: list[str] = []
    first_header: dict[str, str] = {}
    issues: list[DataIssue] = []
    for header in headers:
        key = header_key(header)
        name = chosen[key] if key in chosen else lookup.get(key, header.strip())
        if name in first_header:
            issues.append(
                DataIssue.of(
                    "io.duplicate_column",
                    Reason(
                        f"columns {first_header[name]!r} and {header!r} both mean {name!r}",
                        f"列 {first_header[name]!r} 和 {header!r} 都表示 {name!r}",
                        "delete one of them, or rename one",
                        "请删除其中一列，或给其中一列改名",
                    ),
                    file=file,
                    column=name,
                )
            )
        else:
            first_header[name] = header
        names.append(name)
    for col in source.columns:
        if col.name in first_header or col.name in source.optional_columns:
            continue
        accepted = "、".join(accepted_headers(source, col.name)[:4])
        issues.append(
            DataIssue.of(
                "io.missing_column",
                Reason(
                    f"required column {col.name!r} ({col.zh or col.en}) is missing",
                    f"缺少必需的列 {col.name!r}（{col.zh or col.en}）",
                    f"add a column headed one of: {accepted}",
                    f"请添加一列，表头写作其中之一：{accepted}",
                ),
                file=file,
                column=col.name,
            )
        )
    return names, issues


def column_kinds(
    headers: Sequence[str], source: Source, explicit: Mapping[str, str] | None
) -> list[ColumnType | None]:
    """The canonical type of each file column, None for a column not in the catalogue."""
    names, _ = resolve_headers(headers, source, explicit, file="")
    kinds = {col.name: col.type for col in source.columns}
    return [kinds.get(name) for name in names]
