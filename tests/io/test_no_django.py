"""fenji.io sits below the Django app: reading and writing files never needs Django."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "django" or name.startswith("django."):
            raise ImportError("django is blocked in this check")
        return None
sys.meta_path.insert(0, Block())
import fenji.io, fenji.io.readers, fenji.io.writers
print("ok")
"""


def test_fenji_io_imports_without_django() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
