"""Timing side by side and the verdict a student reads: the logic, on a made-up clock and made-up
ratios (no real timings are asserted; tests/benchmarks/granularity.py measures)."""

from __future__ import annotations

import math
import re
from itertools import combinations

import pytest

from playground.graph.granularity import Comparison
from playground.graph.timing import median_interval, side_by_side

LABELS = ("the fused form", "the primitive form")


def coverage(n: int, k: int) -> float:
    """P(the k-th smallest of n draws ≤ median ≤ the k-th largest), by the binomial law."""
    outside = sum(math.comb(n, i) for i in range(k)) / 2.0 ** n
    return 1.0 - 2.0 * outside


@pytest.mark.parametrize("n", [6, 9, 15, 40, 101, 400])
def test_median_interval_is_the_widest_order_statistic_pair_with_95_percent(n):
    xs = [float(v) for v in range(n)]
    low, high = median_interval(list(reversed(xs)))  # order of the input does not matter
    k = int(low) + 1
    assert high == xs[n - k]
    assert coverage(n, k) >= 0.95 > coverage(n, k + 1)  # k is the largest that still covers


def test_median_interval_of_few_values_is_their_range_and_of_none_an_error():
    assert median_interval([3.0, 1.0, 2.0]) == (1.0, 3.0)
    with pytest.raises(ValueError):
        median_interval([])


class FakeClock:
    """A clock that moves only when the timed functions run: ``a`` takes 3 ticks, ``b`` 2."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[str] = []

    def __call__(self) -> float:
        return self.now

    def work(self, name: str, ticks: float) -> None:
        self.calls.append(name)
        self.now += ticks * 1e-5


def test_side_by_side_alternates_the_order_and_takes_the_ratio_per_round():
    clock = FakeClock()
    result = side_by_side(lambda: clock.work("a", 3), lambda: clock.work("b", 2), budget=0.0,
                          min_rounds=10, clock=clock)
    assert result.rounds == 10
    assert result.seconds_a == pytest.approx(3e-5) and result.seconds_b == pytest.approx(2e-5)
    assert result.ratio == pytest.approx(1.5)
    assert result.ratio_low == pytest.approx(1.5) and result.ratio_high == pytest.approx(1.5)
    assert result.calls == round(1e-3 / 3e-5)  # about a millisecond of the slower one per round
    # after the warm-up: a first in even rounds, b first in odd ones
    timed = "".join(clock.calls)[-2 * 10 * result.calls:]
    firsts = [timed[i] for i in range(0, len(timed), result.calls)]
    assert firsts == list("ab" + "ba" + "ab" + "ba" + "ab" + "ba" + "ab" + "ba" + "ab" + "ba")


def test_side_by_side_pauses_the_garbage_collector_and_restores_it():
    import gc

    was = gc.isenabled()  # the Qt tests leave it off (the GUI thread collects)
    seen: list[bool] = []
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            side_by_side(lambda: seen.append(gc.isenabled()), lambda: None, budget=0.0,
                         min_rounds=2)
            assert gc.isenabled() == enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert seen and not any(seen)


def comparison(ratio: float, low: float, high: float, batch: int | None = None,
               labels: tuple[str, str] = LABELS) -> Comparison:
    return Comparison(0.0, 5, 8, 1e-5 * ratio, 1e-5, ratio, low, high, 200, batch, labels)


def test_a_clear_advantage_says_how_many_times_faster_with_its_interval():
    c = comparison(0.5, 0.48, 0.53, batch=64)
    assert c.faster == "a"
    assert c.verdict == ("The fused form is 2.00× as fast as the primitive form on a batch of 64 "
                         "(1.89–2.08× over 200 rounds timed side by side).")


def test_a_small_but_clear_advantage_is_called_slight_in_percent():
    c = comparison(0.96, 0.955, 0.965)
    assert c.faster == "a"
    assert c.verdict.startswith("The fused form is slightly faster than the primitive form: by 4%")
    assert "(4%–5% over 200 rounds timed side by side)." in c.verdict


def test_within_noise_is_said_plainly_and_explained_for_single_numbers():
    c = comparison(0.99, 0.97, 1.02)
    assert c.faster is None
    assert c.verdict.startswith("Within noise: the fused form and the primitive form take the same "
                                "time here (the fused form takes 0.97–1.02× the time of the "
                                "primitive form over 200 rounds timed side by side).")
    assert "single numbers" in c.verdict
    assert "single numbers" not in comparison(0.99, 0.97, 1.02, batch=32).verdict


def test_a_slower_fused_form_is_reported_as_it_is():
    c = comparison(1.5, 1.4, 1.6)
    assert c.faster == "b"
    assert c.verdict.startswith("The primitive form is 1.50× as fast as the fused form")


def test_the_verdict_names_the_forms_it_is_given_and_an_untimed_comparison_says_so():
    c = comparison(0.5, 0.45, 0.55, labels=("the composite", "its gates laid out"))
    assert c.verdict.startswith("The composite is 2.00× as fast as its gates laid out")
    untimed = Comparison(0.0, 5, 8, 1e-5, 1e-5)
    assert untimed.faster is None and untimed.verdict == "The two forms were not timed."


@pytest.mark.parametrize("ratio, low, high", [
    (0.5, 0.4, 0.6), (0.9, 0.85, 0.95), (0.99, 0.95, 1.05), (1.0, 1.0, 1.0), (1.2, 1.1, 1.3),
])
def test_every_verdict_is_one_of_three_readable_kinds(ratio, low, high):
    text = comparison(ratio, low, high).verdict
    assert re.match(r"^(The fused form is|The primitive form is|Within noise:)", text)
    assert text.endswith(".") and "nan" not in text and "inf" not in text
    for a, b in combinations(("faster", "Within noise"), 2):
        assert not (a in text and b in text)
