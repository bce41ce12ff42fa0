"""fenji — customer classification and tiering (客户分类分级管理).

Grade customers with declarative, versioned policies (bands, rules, scorecards, matrices,
Pareto, RFM, stars), explain every grade, and attach a service strategy to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from fenji.api import evaluate as evaluate


def __getattr__(name: str) -> Any:
    # Imported lazily so that `import fenji.policy` stays light and Django-free.
    if name == "evaluate":
        from fenji.api import evaluate

        return evaluate
    raise AttributeError(name)


__all__ = ["__version__", "evaluate"]
