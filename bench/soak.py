"""Memory over a long run: many data-API requests, then many linkages under a frozen clock.

Usage: python bench/soak.py [--requests 200000] [--linkages 50000]

``sandbox serve`` (memory store, access log on, to a file) in its own process; wrk sends
``--requests`` GET /accounts (in 10-second rounds), then headless customers from a separate
process complete ``--linkages`` linkages (8 at once, each with its token exchange and first
data call) while the scenario's clock stands still, so nothing ever expires and only the
stores' caps keep memory bounded. The server's RSS after each round is printed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from outside import long_run  # noqa: E402
from stores import SCENARIO  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--linkages", type=int, default=50_000)
    parser.add_argument("--round", type=int, default=5_000, help="linkages per round")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sandbox-soak-"))
    scenario = work / "bench.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    try:
        marks = long_run(scenario, args.requests, args.linkages, args.round)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for label, mb in marks:
        print(f"{label}: RSS {mb:.1f} MB")
    (before, start), (after, end) = marks[1], marks[-1]
    print(f"{before} → {after}: {(end / start - 1) * 100:+.1f}%")


if __name__ == "__main__":
    main()
