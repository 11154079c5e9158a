"""Run the UI tests N times in a row and count hangs and failures (issue: the suite used to
deadlock in most runs on a 2-core machine).

Run:  python tests/benchmarks/ui_loop.py [--runs 20] [--limit 600] [-- PYTEST ARGS]

Each run is ``python -m pytest tests/ui -q -p no:randomly`` in a fresh process; a run still
going after ``--limit`` seconds counts as a hang (it is killed). Prints one line per run and a
summary: passed / failed / hung runs and the total time; a failed run's whole report is kept in
the temporary directory (ui_loop_runNN.log). A script, not a test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--limit", type=float, default=600.0)
    p.add_argument("pytest_args", nargs="*", default=["tests/ui"])
    args = p.parse_args()
    counts = {"passed": 0, "failed": 0, "hung": 0}
    t0 = time.perf_counter()
    for i in range(1, args.runs + 1):
        t = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE",
                                   *args.pytest_args],
                                  check=False, cwd=ROOT, capture_output=True, text=True, timeout=args.limit)
            outcome = "passed" if proc.returncode == 0 else "failed"
            lines = proc.stdout.strip().splitlines()
            tail = lines[-1] if lines else ""
            failed = [ln.split()[1] for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
            if failed:
                tail += "  [" + ", ".join(failed) + "]"
                # keep the whole report of a failed run: a flaky failure must be readable later
                log = Path(tempfile.gettempdir()) / f"ui_loop_run{i:02d}.log"
                log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
                tail += f"  (report: {log})"
        except subprocess.TimeoutExpired:
            outcome, tail = "hung", f"killed after {args.limit:.0f} s"
        counts[outcome] += 1
        print(f"run {i:2d}: {outcome:6s} {time.perf_counter() - t:6.1f} s  {tail}", flush=True)
    total = time.perf_counter() - t0
    print(f"{args.runs} runs: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['hung']} hung; total {total / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
