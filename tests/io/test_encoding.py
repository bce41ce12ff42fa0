"""CSV encodings are detected without being told: BOM, then UTF-8, then GB18030."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

import pytest

from fenji.io import DataError, read_source
from fenji.io.encoding import guess_encoding
from fenji.policy.sources import CUSTOMERS

WriteCsv = Callable[..., Path]

CHINESE = "customer_id,name,industry,region,scale,owner,first_deal_date,influence\n" + (
    "C00001,陈祥恒商贸有限公司,制造业,河南,中型,刘洋,2021-10-31,行业龙头\n"
)


def _names(path: Path) -> list[str]:
    names: list[str] = read_source(path, CUSTOMERS)["name"].to_pylist()
    return names


def test_utf8_file_is_read() -> None:
    assert guess_encoding(CHINESE.encode()).encoding == "utf-8"


def test_utf8_with_bom_is_read_and_the_bom_is_not_in_the_first_header(
    write_csv: WriteCsv,
) -> None:
    path = write_csv("customers.csv", text=CHINESE, encoding="utf-8-sig")
    assert guess_encoding(path.read_bytes()).encoding == "utf-8-sig"
    table = read_source(path, CUSTOMERS)
    assert table.column_names[0] == "customer_id"
    assert table["name"].to_pylist() == ["陈祥恒商贸有限公司"]


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "gb2312"])
def test_gb18030_file_is_detected(write_csv: WriteCsv, encoding: str) -> None:
    path = write_csv("customers.csv", text=CHINESE, encoding=encoding)
    assert guess_encoding(path.read_bytes()).encoding == "gb18030"
    assert _names(path) == ["陈祥恒商贸有限公司"]
    assert read_source(path, CUSTOMERS)["owner"].to_pylist() == ["刘洋"]


def test_gbk_text_after_a_long_ascii_start_is_still_detected(write_csv: WriteCsv) -> None:
    # The first 64 KiB are plain ASCII, so only the parser finds out that this is not UTF-8.
    ascii_rows = "".join(f"C{i:05d},name{i},,,,,,\n" for i in range(2, 6000))
    text = CHINESE.replace("C00001", "C99999") + ascii_rows + "C00001,北京华联,零售,,,,,\n"
    path = write_csv("customers.csv", text=text, encoding="gbk")
    assert len(text) > 64 * 1024
    assert _names(path)[-1] == "北京华联"


def test_utf16_with_bom_tab_separated_is_read(write_csv: WriteCsv) -> None:
    # What Excel writes as "Unicode Text".
    path = write_csv("customers.txt", text=CHINESE.replace(",", "\t"), encoding="utf-16")
    assert _names(path) == ["陈祥恒商贸有限公司"]


def test_undecodable_bytes_are_an_encoding_issue_with_offset_and_line(tmp_path: Path) -> None:
    head = "customer_id,name\nC00001,行业\n".encode("gb18030")
    path = tmp_path / "customers.csv"
    path.write_bytes(head + b"C00002,\xff\xff\n")  # 0xFF starts no GB18030 character
    with pytest.raises(DataError) as caught:
        read_source(path, CUSTOMERS)
    [issue] = caught.value.issues
    assert issue.code == "io.encoding"
    assert issue.row == 3
    assert f"byte offset {len(head) + 7}" in issue.message


def test_utf8_file_damaged_later_is_reported_not_reread_as_gb18030(tmp_path: Path) -> None:
    # Chinese UTF-8 at the start proves the encoding; a broken byte later must not turn every
    # name into GB18030 mojibake.
    rows = "".join(f"C{i:05d},客户{i}\n" for i in range(2, 8000))
    data = ("customer_id,name\n" + rows).encode() + b"C99999,\xe5\xae\n"
    path = tmp_path / "customers.csv"
    path.write_bytes(data)
    with pytest.raises(DataError) as caught:
        read_source(path, CUSTOMERS)
    [issue] = caught.value.issues
    assert issue.code == "io.encoding"
    assert issue.row == 8000
    assert "UTF-8" in issue.message


def test_utf8_chinese_after_a_long_ascii_start_with_a_broken_byte_is_reported(
    tmp_path: Path,
) -> None:
    ascii_rows = "".join(f"C{i:05d},name{i}\n" for i in range(2, 6000))
    data = ("customer_id,name\n" + ascii_rows + "C99998,北京华联\n").encode() + b"C99999,\xff\n"
    path = tmp_path / "customers.csv"
    path.write_bytes(data)
    with pytest.raises(DataError) as caught:
        read_source(path, CUSTOMERS)
    [issue] = caught.value.issues
    assert (issue.code, issue.row) == ("io.encoding", 6001)


def test_bom_file_with_invalid_bytes_is_an_encoding_issue(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"customer_id,name\nC1,\xff\n")
    with pytest.raises(DataError) as caught:
        read_source(path, CUSTOMERS)
    assert [i.code for i in caught.value.issues] == ["io.encoding"]
    assert caught.value.issues[0].row == 2
