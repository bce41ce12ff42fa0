"""Vendor the web UI's front-end assets from the npm registry at pinned versions.

Many deployments of fenji are offline, so the pages load nothing from a CDN: the files below are
fetched once from the npm registry, checked against the registry's published SHA-512 integrity,
and written under ``src/fenji/web/ui/static/vendor``, where they are committed. To upgrade, change a
version here, run ``python scripts/vendor_assets.py``, and review the diff.

``--check`` verifies that the committed files are exactly what the pinned tarballs contain.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = os.environ.get("NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
TARGET = Path(__file__).resolve().parents[1] / "src" / "fenji" / "web" / "ui" / "static" / "vendor"

#: package -> (version, {path inside the tarball: name under vendor/<package>/})
PINNED: dict[str, tuple[str, dict[str, str]]] = {
    "htmx.org": (
        "2.0.8",
        {"package/dist/htmx.min.js": "htmx.min.js", "package/LICENSE": "LICENSE"},
    ),
    "echarts": (
        "6.0.0",
        {"package/dist/echarts.min.js": "echarts.min.js", "package/LICENSE": "LICENSE"},
    ),
}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        data: bytes = response.read()
        return data


def _tarball(package: str, version: str) -> bytes:
    meta = json.loads(_get(f"{REGISTRY}/{package}/{version}"))
    dist = meta["dist"]
    data = _get(dist["tarball"])
    algorithm, _, expected = dist["integrity"].partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{package}@{version}: integrity mismatch ({algorithm})")
    return data


def _files(package: str, version: str, wanted: dict[str, str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(_tarball(package, version)), mode="r:gz") as tar:
        for member, name in wanted.items():
            handle = tar.extractfile(member)
            if handle is None:
                raise SystemExit(f"{package}@{version}: {member} is not in the tarball")
            out[name] = handle.read()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed files")
    args = parser.parse_args(argv)
    manifest: dict[str, dict[str, object]] = {}
    stale: list[str] = []
    for package, (version, wanted) in PINNED.items():
        files = _files(package, version, wanted)
        folder = TARGET / package
        manifest[package] = {
            "version": version,
            "files": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(files.items())},
        }
        for name, data in files.items():
            path = folder / name
            if args.check:
                if not path.exists() or path.read_bytes() != data:
                    stale.append(str(path))
                continue
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        print(f"{package}@{version}: {', '.join(sorted(files))}")
    if args.check:
        if stale:
            print("differs from the pinned tarballs:", *stale, sep="\n  ", file=sys.stderr)
            return 1
        return 0
    (TARGET / "VERSIONS.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
