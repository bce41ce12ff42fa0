"""The policy language and the engine never import Django: they run in notebooks, on Spark
workers and in the CLI without it. A fresh interpreter proves it, with Django made unimportable."""

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
import fenji.policy.validate, fenji.policy.models, fenji.engine.evaluate, fenji.engine.compiler
import fenji.engine.methods
assert not [m for m in sys.modules if m == "django" or m.startswith("django.")]
print("ok")
"""


def test_policy_and_engine_import_without_django() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
