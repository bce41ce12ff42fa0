"""The models import without Django, and the engine at large does not load SciPy: a policy
without model metrics pays nothing for them."""

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
import fenji.engine.evaluate, fenji.engine.compiler, fenji.commands.clv
assert "scipy" not in sys.modules, "the engine imports scipy"
import fenji.engine.clv.models, fenji.engine.clv.diagnostics, fenji.io.orders
assert not [m for m in sys.modules if m == "django" or m.startswith("django.")]
print("ok")
"""


def test_models_import_without_django_and_the_engine_without_scipy() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
