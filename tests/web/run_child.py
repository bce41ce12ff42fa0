"""A run in a process of its own, for the tests that kill runs or start two at once.

``python tests/web/run_child.py --policy P --as-of D`` prints ``published <run id>`` or
``refused <message>`` (exit code 3); the database comes from the environment (``FENJI_DB`` or
``DATABASE_URL``), and ``FENJI_TEST_RUN_PAUSE`` makes the run stop at a point to be killed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--policy", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--to", default=None)
    args = parser.parse_args()

    from fenji.web.setup import django_setup

    django_setup()
    from fenji.web.evaluations.errors import RunRefused
    from fenji.web.evaluations.services import evaluation_run_series, evaluation_run_start

    try:
        if args.to:
            runs = evaluation_run_series(
                policy=args.policy,
                start=date.fromisoformat(args.as_of),
                end=date.fromisoformat(args.to),
            )
            print("published", " ".join(str(r.pk) for r in runs), flush=True)
        else:
            run = evaluation_run_start(policy=args.policy, as_of=date.fromisoformat(args.as_of))
            print("published", run.pk, flush=True)
    except RunRefused as err:
        print("refused", err.message, flush=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
