"""Timing two pieces of work side by side, honestly. Plain Python, no Qt.

A single timing of a few microseconds says little on a busy machine: another process, a cache
miss or a frequency change moves it by more than the difference being looked for. So the two
are run in alternating rounds (a then b, b then a, ...) so that slow spells hit both; each round
runs each for about a millisecond (long against the timer's resolution, short against the
scheduler's time slice, so that most rounds run undisturbed: with 4 ms rounds on a busy 2-core
machine the interval below was ten times wider); the ratio is taken per round, side by side; and
the answer is the median of those ratios with a distribution-free 95% confidence interval (order
statistics of the binomial distribution), which says whether the difference stands out of the
noise.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["SideBySide", "median_interval", "side_by_side"]

ROUND_SECONDS = 0.001  # each form runs about this long per round


@dataclass(frozen=True)
class SideBySide:
    """Seconds per call of ``a`` and ``b`` (medians over rounds) and the per-round ratio
    ``a / b``: its median and a 95% confidence interval of that median."""

    seconds_a: float
    seconds_b: float
    ratio: float
    ratio_low: float
    ratio_high: float
    rounds: int
    calls: int  # calls of each per round (at the end)


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """A confidence interval for the median of ``values``, assuming nothing of their
    distribution: the k-th smallest and k-th largest value, k the largest with
    P(Binomial(n, ½) < k) ≤ (1 − confidence)/2. Fewer than 6 values: their whole range."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    tail = (1.0 - confidence) / 2.0
    k, below = 0, 0.0  # after the k-th addition: below = P(Binomial(n, ½) < k + 1)
    while k < n // 2:
        below += math.comb(n, k) / 2.0 ** n
        if below > tail:
            break
        k += 1
    k = max(k, 1)
    return xs[k - 1], xs[n - k]


def _timed(fn: Callable[[], object], calls: int,
           clock: Callable[[], float] = time.perf_counter) -> float:
    t0 = clock()
    for _ in range(calls):
        fn()
    return (clock() - t0) / calls


def _per_call(fn: Callable[[], object], clock: Callable[[], float]) -> float:
    """Seconds per call once warm: the first calls (allocation, caches) are not counted, then
    calls double until a batch lasts a quarter of a round; the fastest of three such batches."""
    fn()
    calls = 1
    while True:
        took = _timed(fn, calls, clock) * calls
        if took >= ROUND_SECONDS / 4 or calls >= 1 << 20:
            break
        calls *= 2
    return max(min(took / calls, _timed(fn, calls, clock), _timed(fn, calls, clock)), 1e-9)


def side_by_side(a: Callable[[], object], b: Callable[[], object], budget: float = 0.4,
                 min_rounds: int = 15, max_rounds: int = 1000,
                 clock: Callable[[], float] = time.perf_counter) -> SideBySide:
    """Time ``a`` and ``b`` in alternating rounds for about ``budget`` seconds in all (at least
    ``min_rounds`` rounds, so a slow pair takes longer than the budget). The calls per round are
    set from a warm-up and corrected every few rounds (the first calls of a new array size can
    be many times slower while the allocator adapts). The garbage collector is paused.
    ``clock`` times the rounds: wall time by default (what a person waits for);
    ``time.thread_time`` leaves out the time other processes take the core away."""
    was_enabled = gc.isenabled()
    gc.disable()
    ta: list[float] = []
    tb: list[float] = []
    try:
        calls = max(1, round(ROUND_SECONDS / max(_per_call(a, clock), _per_call(b, clock))))
        start = time.perf_counter()
        while len(ta) < max_rounds and (len(ta) < min_rounds
                                         or time.perf_counter() - start < budget):
            if len(ta) % 2:
                tb.append(_timed(b, calls, clock))
                ta.append(_timed(a, calls, clock))
            else:
                ta.append(_timed(a, calls, clock))
                tb.append(_timed(b, calls, clock))
            if len(ta) % 8 == 0:  # the typical call now: recent rounds, the faster half
                recent = sorted(max(x, y) for x, y in zip(ta[-8:], tb[-8:], strict=True))
                better = max(1, round(ROUND_SECONDS / max(recent[3], 1e-9)))
                if better >= 2 * calls:
                    calls = better
    finally:
        if was_enabled:
            gc.enable()
    ratios = [x / y if y > 0 else (math.inf if x > 0 else 1.0) for x, y in zip(ta, tb, strict=True)]
    low, high = median_interval(ratios)
    return SideBySide(statistics.median(ta), statistics.median(tb), statistics.median(ratios),
                      low, high, len(ta), calls)
