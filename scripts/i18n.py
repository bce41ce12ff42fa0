"""Extract and compile the web UI's translations, one catalogue per app.

English is the source language of templates and messages; ``zh_Hans`` (the default language of
the UI) is kept in ``src/fenji/web/<app>/locale/zh_Hans/LC_MESSAGES/django.po``, one file per
app so that each app's strings live beside its pages.

    python scripts/i18n.py            # update the .po files from the sources, then compile
    python scripts/i18n.py --compile  # only compile .po -> .mo (needs GNU gettext's msgfmt)
    python scripts/i18n.py --fill DIR # also fill empty translations from DIR/*.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from po_fill import fill

WEB = Path(__file__).resolve().parents[1] / "src" / "fenji" / "web"
APPS = ("ui", "accounts", "customers", "facts", "policies", "evaluations", "api")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", action="store_true", help="compile only")
    parser.add_argument("--fill", type=Path, help="folder of JSON files {msgid: msgstr}")
    args = parser.parse_args(argv)
    translations: dict[str, str] = {}
    if args.fill is not None:
        for source in sorted(args.fill.glob("*.json")):
            translations.update(json.loads(source.read_text(encoding="utf-8")))
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="fenji.web.settings")
    # The django-admin script, not "python -m django": the latter puts the app folder first on
    # sys.path, where selectors.py would shadow the standard library module.
    admin = [str(Path(sys.executable).with_name("django-admin"))]
    for app in APPS:
        folder = WEB / app
        if not folder.is_dir():
            continue
        (folder / "locale").mkdir(exist_ok=True)
        if not args.compile:
            subprocess.run(
                [
                    *admin,
                    "makemessages",
                    "-l",
                    "zh_Hans",
                    "--no-obsolete",
                    "--no-location",
                    "--no-wrap",  # one line per msgid: the JSON fill matches whole msgids
                    "--ignore",
                    "migrations/*",
                    "--ignore",
                    "static/*",
                ],
                cwd=folder,
                env=env,
                check=True,
            )
        po = folder / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
        if translations and po.exists():
            for msgid in fill(po, translations):
                print(f"{app}: untranslated: {msgid}")
        subprocess.run(
            [*admin, "compilemessages", "-l", "zh_Hans"], cwd=folder, env=env, check=True
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
