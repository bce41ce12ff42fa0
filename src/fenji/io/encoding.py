"""Which text encoding a CSV file uses, found without being told.

Chinese users hand over CSV files from Excel (UTF-8 with a BOM, or GBK/GB18030 on a Chinese
Windows), from ERPs (GBK) and from scripts (plain UTF-8). The rule is: a BOM decides; otherwise
valid UTF-8 is UTF-8; otherwise GB18030, a superset of GBK and GB2312 that decodes them all.

Validating a whole large file in Python costs about as long as parsing it, so the reader trusts
the first 64 KiB to choose UTF-8 and lets the CSV parser validate the rest while it converts
columns. A file that holds valid non-ASCII UTF-8 before its first invalid byte is reported as
damaged rather than re-read as GB18030: GBK text almost never forms valid multi-byte UTF-8, so
such a file is UTF-8 that is corrupt, and decoding it as GB18030 would silently turn all its
Chinese into mojibake.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Final, Literal

from fenji.io.errors import DataIssue, Reason

Encoding = Literal["utf-8-sig", "utf-8", "gb18030", "utf-16"]

_PREFIX_BYTES: Final = 64 * 1024
_CHUNK_BYTES: Final = 16 * 1024 * 1024
_UTF8_BOM: Final = codecs.BOM_UTF8
_UTF16_BOMS: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class Guess:
    """The encoding chosen from the beginning of a file.

    ``certain`` is true when the guess cannot be revised by later bytes: a BOM was present, or
    the beginning already held multi-byte UTF-8 (see the module docstring).
    """

    encoding: Encoding
    certain: bool


def guess_encoding(data: bytes) -> Guess:
    """Choose an encoding from the BOM or the first 64 KiB of ``data``."""
    if data.startswith(_UTF8_BOM):
        return Guess("utf-8-sig", certain=True)
    if data.startswith(_UTF16_BOMS):
        return Guess("utf-16", certain=True)
    prefix = data[:_PREFIX_BYTES]
    try:
        # final=False: a character cut in two at the end of the prefix is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(prefix, final=False)
    except UnicodeDecodeError:
        return Guess("gb18030", certain=True)
    return Guess("utf-8", certain=not prefix.isascii())


def to_utf8(data: bytes, encoding: Encoding, *, file: str) -> bytes | DataIssue:
    """``data`` re-encoded as UTF-8 without BOM, or the issue naming the first undecodable byte.

    For UTF-8 input the bytes are returned as they are (minus the BOM) without validation: the
    CSV parser validates them.
    """
    if encoding == "utf-8":
        return data
    if encoding == "utf-8-sig":
        return data[len(_UTF8_BOM) :]
    decoder = codecs.getincrementaldecoder(encoding)()
    out: list[bytes] = []
    for start in range(0, len(data), _CHUNK_BYTES):
        chunk = data[start : start + _CHUNK_BYTES]
        final = start + _CHUNK_BYTES >= len(data)
        try:
            out.append(decoder.decode(chunk, final=final).encode("utf-8"))
        except UnicodeDecodeError as exc:
            return undecodable(data, start + exc.start, encoding, file=file)
    return b"".join(out).removeprefix(_UTF8_BOM)


def first_invalid_utf8(data: bytes) -> int | None:
    """Byte offset of the first byte that is not valid UTF-8, or None; used on the error path."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), _CHUNK_BYTES):
        final = start + _CHUNK_BYTES >= len(data)
        try:
            decoder.decode(data[start : start + _CHUNK_BYTES], final=final)
        except UnicodeDecodeError as exc:
            return start + exc.start
    return None


def undecodable(data: bytes, offset: int, encoding: str, *, file: str) -> DataIssue:
    """The ``io.encoding`` issue for the byte at ``offset``, with its line number."""
    line = data.count(b"\n", 0, offset) + 1
    snippet = data[offset : offset + 4].hex(" ")
    name = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "gb18030": "GB18030/GBK", "utf-16": "UTF-16"}
    shown = name.get(encoding, encoding)
    return DataIssue.of(
        "io.encoding",
        Reason(
            f"byte offset {offset} (bytes {snippet}) is not valid {shown} text; the file mixes "
            "encodings or is damaged",
            f"字节偏移 {offset}（字节 {snippet}）不是有效的 {shown} 文本；文件混用了编码或已损坏",
            "open the file in Excel or a text editor and save it again as 'CSV UTF-8'",
            "请用 Excel 或文本编辑器打开并另存为“CSV UTF-8（逗号分隔）”",
        ),
        file=file,
        row=line,
    )
