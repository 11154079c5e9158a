"""How often the garbage-collector deadlock scenario fails, unguarded (as before the fix) and
guarded (as the app runs): ``tests/ui/gc_stress.py`` in fresh processes, side by side.

Run:  python tests/benchmarks/gc_deadlock.py [--runs N] [--seconds S] [--limit L]

Each run trains moons_mlp on the worker thread while the GUI thread makes and drops Qt objects
in reference cycles. A run fails when it crashes, exits non-zero, or is still running after
``--limit`` seconds (a deadlock: the process sits at 0% CPU). Prints the failures of each mode,
the kinds (crash / hang / error) and the wall time. A script, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

STRESS = Path(__file__).resolve().parents[1] / "ui" / "gc_stress.py"


def one(unguarded: bool, seconds: float, limit: float) -> str:
    cmd = [sys.executable, str(STRESS), "--seconds", str(seconds)]
    if unguarded:
        cmd.append("--unguarded")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=limit, env=env)
    except subprocess.TimeoutExpired:
        return "hang"
    if proc.returncode == 0 and "ok cycles=" in proc.stdout:
        return "ok"
    return "crash" if proc.returncode < 0 or proc.returncode == 139 else "error"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--limit", type=float, default=60.0)
    args = p.parse_args()
    results: dict[str, list[str]] = {"unguarded": [], "guarded": []}
    t0 = time.perf_counter()
    for _ in range(args.runs):  # interleaved, so both modes see the same machine load
        for mode in results:
            results[mode].append(one(mode == "unguarded", args.seconds, args.limit))
    for mode, outcomes in results.items():
        failed = [o for o in outcomes if o != "ok"]
        kinds = ", ".join(f"{k} {failed.count(k)}" for k in sorted(set(failed))) or "none"
        print(f"{mode:9s}: {len(failed)}/{len(outcomes)} runs failed ({kinds})")
    print(f"total {time.perf_counter() - t0:.0f} s, {args.seconds:g} s of stress per run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
