"""Fill empty translations of a .po file from a JSON object {msgid: msgstr}.

    python scripts/po_fill.py src/fenji/web/<app>/locale/zh_Hans/LC_MESSAGES/django.po t.json

Only single-line msgids with an empty msgstr are filled; the header and existing translations
are left alone, and the "fuzzy" flag is removed from the header so the catalogue is used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unquote(line: str) -> str:
    body = line[line.index('"') + 1 : line.rindex('"')]
    return body.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def _drop_fuzzy_guesses(lines: list[str]) -> list[str]:
    """makemessages guesses a translation for a new msgid from a similar old one and marks it
    fuzzy (unused at run time); drop the guess so the msgid is filled from the JSON or
    reported as untranslated."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("#,") and "fuzzy" in line and not nxt.startswith('msgid ""'):
            flags = [f.strip() for f in line[2:].split(",") if f.strip() != "fuzzy"]
            if flags:
                out.append("#, " + ", ".join(flags))
            i += 1
            while i < len(lines) and lines[i].startswith("#|"):
                i += 1
            while i < len(lines) and not lines[i].startswith("msgstr "):
                out.append(lines[i])
                i += 1
            out.append('msgstr ""')
            i += 1
            while i < len(lines) and lines[i].startswith('"'):
                i += 1
            continue
        out.append(line)
        i += 1
    return out


def fill(po: Path, translations: dict[str, str]) -> list[str]:
    lines = _drop_fuzzy_guesses(po.read_text(encoding="utf-8").splitlines())
    out: list[str] = []
    missing: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("msgid ") and i + 1 < len(lines) and lines[i + 1] == 'msgstr ""':
            msgid = _unquote(line)
            follow = i + 2 < len(lines) and lines[i + 2].startswith('"')
            if msgid and not follow:
                out.append(line)
                if msgid in translations:
                    out.append("msgstr " + _quote(translations[msgid]))
                else:
                    out.append('msgstr ""')
                    missing.append(msgid)
                i += 2
                continue
        out.append(line)
        i += 1
    text = "\n".join(out) + "\n"
    text = text.replace(
        '#, fuzzy\nmsgid ""\nmsgstr ""\n"Project', 'msgid ""\nmsgstr ""\n"Project', 1
    )
    po.write_text(text, encoding="utf-8")
    return missing


if __name__ == "__main__":
    missing = fill(Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")))
    for msgid in missing:
        print("untranslated:", msgid)
