"""A seeded fuzz run over graph files, meta.training settings, CSV files and weights files.

The cases come from tests/fuzz/hostile_cases.py (seed :data:`SEED`, :data:`CASES` of them, a
quarter of each kind) and run in one subprocess (hostile_runner.py) under an address-space
limit (RLIMIT_AS), a memory budget (PLAYGROUND_MEMORY_BUDGET) and a time limit per case
(faulthandler ends the process and names the case). Every case must end in success or a typed
error with a one-line message; none may hang, die, or allocate more than the budget. About 30 s
for 2,000 cases here.

A finding is reproduced with ``python tests/fuzz/hostile_runner.py --seed 16 --only K``.
"""

from __future__ import annotations

import collections
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SEED = 16
CASES = 2000
BUDGET = 128 * 1024**2  # the app's memory budget inside the run
ADDRESS_SPACE = 1536 * 1024**2  # RLIMIT_AS of the run: Python, NumPy and the budget fit in it
PER_CASE = 10.0  # seconds


def _limit_memory() -> None:  # runs in the child before it starts Python
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.mark.timeout(300)
def test_hostile_inputs_end_in_success_or_a_typed_error() -> None:
    env = {**os.environ, "PLAYGROUND_MEMORY_BUDGET": str(BUDGET), "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(HERE / "hostile_runner.py"), "--seed", str(SEED), "--cases",
         str(CASES), "--per-case", str(PER_CASE)],
        capture_output=True, text=True, env=env, preexec_fn=_limit_memory, timeout=280,
        check=False)
    seconds = time.perf_counter() - start
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    done = [r for r in lines if "outcome" in r]
    started = [r for r in lines if "start" in r]
    if len(done) < CASES:  # a hang (faulthandler ended it) or a crash
        last = started[-1] if started else {"start": None, "kind": None}
        pytest.fail(f"the run stopped at case {last['start']} ({last['kind']}), exit "
                    f"{result.returncode}; reproduce: python tests/fuzz/hostile_runner.py --seed "
                    f"{SEED} --only {last['start']}\n{result.stderr[-3000:]}")
    failures = [r for r in done if r["outcome"] == "FAIL"]
    assert not failures, "\n\n".join(
        f"case {r['case']} ({r['kind']}; --seed {SEED} --only {r['case']}):\n{r['error']}"
        for r in failures[:5])
    over = [r for r in done if r["peak"] > BUDGET]
    assert not over, [(r["case"], r["kind"], r["peak"]) for r in over[:5]]
    slow = [r for r in done if r["seconds"] > PER_CASE]
    assert not slow, [(r["case"], r["kind"], r["seconds"]) for r in slow[:5]]
    counts = collections.Counter((r["kind"], r["outcome"]) for r in done)
    for kind in ("graph", "training", "csv", "weights"):  # each kind gets through sometimes
        assert counts[(kind, "ok")] >= CASES // 40, (kind, counts)
        assert counts[(kind, "refused")] >= CASES // 40, (kind, counts)
    print(f"\nfuzz: {len(done)} cases in {seconds:.1f} s, peak heap "
          f"{max(r['peak'] for r in done) / 1024**2:.0f} MB of a {BUDGET / 1024**2:.0f} MB "
          f"budget: {dict(sorted(counts.items()))}")
