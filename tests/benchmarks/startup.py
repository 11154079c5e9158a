"""Launch to first paint: the source install and, if built, the PyInstaller bundle.

    python tests/benchmarks/startup.py [--runs N] [--bundle PATH] [--platform offscreen|xcb] [--json]

Each launch is ``backprop-playground --first-paint``: the app prints the seconds from process
start (from /proc/self/stat) to the first paint event of the main window and exits. A first
launch warms the disk cache and is not counted. Also printed: the floor (importing QtWidgets and
pyqtgraph alone) and any heavy module (scikit-learn, SciPy, ...) imported before the first paint,
which should stay lazy. The target is <= 1.0 s warm. Not a timed test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BUNDLE = ROOT / "packaging" / "build" / "dist" / "backprop-playground" / "backprop-playground"
TARGET = 1.0
HEAVY = ("sklearn", "scipy", "pandas", "matplotlib", "torch")


def child_env(platform: str) -> dict[str, str]:
    env = dict(os.environ, LANG="C.UTF-8", QT_QPA_PLATFORM=platform)
    if platform == "offscreen":
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
    return env


def launch(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(first paint as the app measured it, wall time from spawn to exit)."""
    t0 = time.perf_counter()
    r = subprocess.run([*cmd, "--first-paint"], capture_output=True, text=True, env=env,
                       cwd=ROOT.parent, timeout=120, check=False)
    wall = time.perf_counter() - t0
    m = re.search(r"^first-paint: (\d+\.\d+) s", r.stdout, re.MULTILINE)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"{' '.join(cmd)} --first-paint failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return float(m.group(1)), wall


def measure(cmd: list[str], runs: int, env: dict[str, str]) -> dict[str, float]:
    launch(cmd, env)  # warm-up
    paints, walls = zip(*(launch(cmd, env) for _ in range(runs)), strict=True)
    return {"first_paint_median": statistics.median(paints), "first_paint_min": min(paints),
            "wall_median": statistics.median(walls), "runs": runs}


def floor(env: dict[str, str]) -> float:
    code = ("import time; t = time.perf_counter(); import PySide6.QtWidgets, pyqtgraph; "
            "print(time.perf_counter() - t)")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  env=env, check=True).stdout) for _ in range(3)]
    return min(times)


def heavy_imports(env: dict[str, str]) -> dict[str, float]:
    """Top-level heavy packages imported before the first paint, with -X importtime seconds."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "playground", "--first-paint"],
                       capture_output=True, text=True, env=env, cwd=ROOT.parent, timeout=120,
                       check=False)
    found: dict[str, float] = {}
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| \s*(\S+)$", line)
        if m and m.group(2) in HEAVY and int(m.group(1)) > 5000:  # cumulative µs (may overlap)
            found[m.group(2)] = max(found.get(m.group(2), 0.0), int(m.group(1)) / 1e6)
    return found


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="the bundle's executable")
    p.add_argument("--platform", default="offscreen", help="QT_QPA_PLATFORM for the launches")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    env = child_env(args.platform)

    results: dict[str, object] = {"platform": args.platform, "target_s": TARGET}
    results["floor_qt_pyqtgraph_import_s"] = floor(env)
    results["source"] = measure([sys.executable, "-m", "playground"], args.runs, env)
    results["source_heavy_imports_s"] = heavy_imports(env)
    if args.bundle.is_file():
        results["bundle"] = measure([str(args.bundle)], args.runs, env)

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"launch to first paint ({args.platform}, median of {args.runs} warm runs; target <= {TARGET:.1f} s)")
    print(f"  floor: import QtWidgets + pyqtgraph           {results['floor_qt_pyqtgraph_import_s']:.3f} s")
    for name in ("source", "bundle"):
        r = results.get(name)
        if not isinstance(r, dict):
            print(f"  {name:<6}: not built (packaging/build.sh)")
            continue
        verdict = "met" if r["first_paint_median"] <= TARGET else "MISSED"
        print(f"  {name:<6}: first paint {r['first_paint_median']:.3f} s (min {r['first_paint_min']:.3f}),"
              f" spawn to exit {r['wall_median']:.3f} s  [{verdict}]")
    heavy = results["source_heavy_imports_s"]
    if heavy:
        listed = ", ".join(f"{k} {v:.2f} s" for k, v in sorted(heavy.items(), key=lambda kv: -kv[1]))
        print(f"  imported before the first paint (should be lazy): {listed}")
    else:
        print("  no heavy package (scikit-learn, SciPy, ...) is imported before the first paint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
