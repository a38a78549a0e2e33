"""``make bench``: every benchmark, with its peers, in one run, then the report.

    python -m bench [--quick] [--only runs,sdk] [--report-only]

Runs each ``bench/*_bench.py`` (``python -m bench.<name>``: runs, sdk, threads, guard, and
freshness for B9) one after the other, never at once:
they each start the processes they measure, and on a 2-core machine two of them side by side
would measure each other. A module that fails does not stop the others; its exit code is in the
report. Then collects ``bench/results/*.json`` into ``bench/results.json`` and writes
``bench/REPORT.md`` (the goals table: ratios vs goals, met or by how much not) with PNG plots
under ``bench/plots/`` (see ``bench/report.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import BENCH, write
from dashboard.launcher import database_url

# A module stuck on a dead process must not hold `make bench` forever.
MODULE_TIMEOUT = 3600


def modules() -> list[str]:
    return sorted(path.stem for path in BENCH.glob("*_bench.py"))


def run(name: str, quick: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    print(f"bench: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    try:
        code = subprocess.run(command, cwd=BENCH.parent, timeout=MODULE_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        code = -1
        print(f"bench: {name} gave up after {MODULE_TIMEOUT} s", flush=True)
    return {"exit_code": code, "seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="each module's --quick run")
    parser.add_argument("--only", default="", help="comma-separated module names (runs,sdk,...)")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild the report from bench/results/*.json without running anything",
    )
    args = parser.parse_args(argv)
    chosen = modules()
    if args.only:
        wanted = {
            name if name.endswith("_bench") else f"{name}_bench" for name in args.only.split(",")
        }
        unknown = wanted - set(chosen)
        if unknown:
            parser.error(f"no such benchmark module: {', '.join(sorted(unknown))}")
        chosen = [name for name in chosen if name in wanted]
    ran: dict[str, dict[str, Any]] = {}
    # The same services as `make test`: PostgreSQL when it answers, for modules that need a database.
    database = database_url()
    if database:
        os.environ.setdefault("DATABASE_URL", database)
    if not args.report_only:
        for name in chosen:
            ran[name] = run(name, args.quick)
    results, report = write(ran, quick=args.quick)
    print(
        f"bench: wrote {results.relative_to(Path.cwd()) if results.is_relative_to(Path.cwd()) else results}"
        f" and {report}",
        flush=True,
    )
    return 0 if all(info["exit_code"] == 0 for info in ran.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
