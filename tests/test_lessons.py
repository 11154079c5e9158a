"""Lessons: the files validate, and every number they state is what the engine computes."""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path

import numpy as np
import pytest

from playground.graph import compile_graph, load
from playground.graph.explain import trace
from playground.lessons import LessonError, lesson_for, load_lessons
from playground.resources import example_path, lessons_dir, resource_root

NUMBER = re.compile(r"(?<![\w.])([−-]?)(\d+(?:\.\d+)?(?:e[−-]?\d+)?)(?!\d)")


def numbers(text: str) -> list[tuple[str, float, int | None]]:
    """(token, value, decimals) of every number written in ``text`` (``W1``, ``z2`` are names,
    not numbers; ``e^−1`` holds −1; decimals None for ``1e-3``)."""
    out = []
    for m in NUMBER.finditer(text):
        token = m.group(0)
        body = m.group(2)
        value = float(token.replace("−", "-"))
        decimals = None if "e" in body else len(body.split(".")[1]) if "." in body else 0
        out.append((token, value, decimals))
    return out


def matches(value: float, decimals: int | None, claim: float) -> bool:
    if decimals is None:
        return math.isclose(value, claim, rel_tol=1e-12)
    if decimals == 0:
        return abs(value - claim) < 1e-9
    return abs(round(claim, decimals) - value) < 0.5 * 10.0 ** -(decimals + 3)


def unverified(text: str, claims: set[float]) -> list[str]:
    """The numbers in ``text`` that no claim explains (at the precision they are written)."""
    return [token for token, value, decimals in numbers(text)
            if not any(matches(value, decimals, c) for c in claims)]


def assert_numbers_verified(lesson_name: str, claims: set[float]) -> None:
    lesson = lesson_for(lesson_name)
    assert lesson is not None
    for step in lesson.steps:
        bad = unverified(step.text, claims)
        assert not bad, f"{lesson_name}: {bad} in '{step.text}' are not computed numbers"


def test_the_number_checker_catches_a_wrong_number():
    nums, _, _ = trace_claims("sigmoid_neuron")
    assert unverified("∂f/∂x1 = w1 · 0.197 = −0.59, W1 has 8×8", nums | {8.0}) == []
    assert unverified("∂f/∂x1 = −0.58 and e^−1 = 0.36", nums) == ["−0.58", "0.36"]
    assert [t for t, _, _ in numbers("z2 = 2q + 1e-3 − 3.01² (W1)")] == ["2", "1e-3", "3.01"]


def trace_claims(name: str, feeds: dict | None = None) -> tuple[set[float], dict, dict]:
    """Every number a trace shows (values, inputs, upstream, local, downstream; and their
    magnitudes, since a lesson writes x − 3 for x + (−3)), and value/gradient per node name."""
    program = compile_graph(load(example_path(name)))
    fw, bw = trace(program, feeds)
    nums: set[float] = set()
    for s in fw:
        nums.add(float(s.value))
        nums.update(float(v) for _, _, v in s.inputs)
    for b in bw:
        nums.update(float(a) for a in (b.upstream, b.downstream, b.total))
        if b.local is not None:
            nums.add(float(b.local))
    nums |= {abs(v) for v in nums}
    values = {n.name: float(program.value(n.name)) for n in program.nodes}
    grads = {n.name: float(g) for n, g in zip(program.nodes, program.grads, strict=True)
             if g is not None}
    return nums, values, grads


def final_gradients(text: str) -> dict[str, float]:
    return {k: float(v.replace("−", "-"))
            for k, v in re.findall(r"\b(w0|x0|w1|x1|w2) = ([−-]?\d+\.\d+)", text)}


# -- files ------------------------------------------------------------------------------------
def test_the_bundled_lessons_load_and_validate():
    assert lessons_dir() == resource_root() / "lessons" and lessons_dir().is_dir()
    lessons = load_lessons()
    assert {x.example for x in lessons} == {"square_of_sum", "sigmoid_neuron",
                                            "sigmoid_neuron_fused", "digits_mlp",
                                            "tutorial_2_2_1", "digits_tutorial"}
    for lesson in lessons:
        assert lesson.title and lesson.steps and lesson.path is not None
        assert lesson_for(lesson.example) == lesson
    assert lesson_for("moons_mlp") is None


def test_square_of_sum_walks_the_stepper_step_for_step():
    lesson = lesson_for("square_of_sum")
    fw, bw = trace(compile_graph(load(example_path("square_of_sum"))))
    kinds = [s.kind for s in lesson.steps]
    assert kinds.count("forward") == len(fw) and kinds.count("backward") == len(bw)
    # the k-th forward (backward) action's text shows the k-th step's numbers
    texts = iter(s.text for s in lesson.steps if s.kind == "forward")
    for step, text in zip(fw, texts, strict=True):
        assert step.text in text
    texts = iter(s.text for s in lesson.steps if s.kind == "backward")
    for step, text in zip(bw, texts, strict=True):
        assert step.text.split(" = ")[-1] in text and f"∂f/∂{step.input_name}" in text
    assert bw[2].text in lesson.steps[5].text and bw[3].text in lesson.steps[6].text


def test_square_of_sum_numbers_are_the_engines():
    nums, values, grads = trace_claims("square_of_sum")
    assert (values["q"], values["f"], grads["q"], grads["x"], grads["y"]) == (3, 9, 6, 6, 6)
    p = compile_graph(load(example_path("square_of_sum")))
    p.run({"x": 1.01})
    nudged_q, nudged_f = float(p.value("q")), float(p.value("f"))
    text = " ".join(s.text for s in lesson_for("square_of_sum").steps)
    assert f"{nudged_q:.2f}² ≈ {nudged_f:.2f}" in text  # 3.01² ≈ 9.06
    assert (nudged_f - values["f"]) / 0.01 == pytest.approx(grads["x"], rel=0.01)
    exponent = 2.0
    assert_numbers_verified("square_of_sum", nums | {exponent, 1.01, 0.01, nudged_q, nudged_f})


def test_sigmoid_neuron_numbers_are_the_engines():
    nums, _, grads = trace_claims("sigmoid_neuron")
    program = compile_graph(load(example_path("sigmoid_neuron")))
    _, bw = trace(program)
    contributions = len(bw) - 1
    lesson = lesson_for("sigmoid_neuron")
    assert final_gradients(lesson.steps[-1].text) == {
        k: round(grads[k], 2) for k in ("w0", "x0", "w1", "x1", "w2")}
    assert f"{contributions} multiplications" in lesson.steps[-1].text
    assert_numbers_verified("sigmoid_neuron",
                            nums | {contributions, round(grads["w0x0"], 3)})


def test_sigmoid_neuron_fused_numbers_are_the_engines():
    nums, values, grads = trace_claims("sigmoid_neuron_fused")
    chain_nums, _, chain_grads = trace_claims("sigmoid_neuron")
    fused = compile_graph(load(example_path("sigmoid_neuron_fused")))
    chain = compile_graph(load(example_path("sigmoid_neuron")))
    gates = [sum(not n.spec.is_source for n in p.nodes) for p in (fused, chain)]
    steps = [len(trace(p)[1]) - 1 for p in (fused, chain)]
    lesson = lesson_for("sigmoid_neuron_fused")
    text = " ".join(s.text for s in lesson.steps)
    assert f"{gates[0]} gates instead of {gates[1]}" in text
    assert f"{steps[0]} backward steps instead of {steps[1]}" in text
    f = values["f"]
    assert f"{f:.2f} · {1 - f:.2f} = {f * (1 - f):.2f}" in text
    assert final_gradients(lesson.steps[3].text) == {
        k: round(grads[k], 2) for k in ("w0", "x0", "w1", "x1", "w2")}
    for k in ("w0", "x0", "w1", "x1", "w2"):
        assert grads[k] == pytest.approx(chain_grads[k], abs=1e-15)
    assert_numbers_verified("sigmoid_neuron_fused",
                            nums | chain_nums | set(gates) | set(steps) | {1 - f})


# -- digits: the claims are about training, so train as the example says ------------------
@pytest.fixture(scope="module")
def digits_run() -> dict:
    from playground.training import TrainConfig, Trainer
    from playground.training.datasets import load_dataset, split

    model = load(example_path("digits_mlp"))
    t = model.meta["training"]
    program = compile_graph(model)
    data = split(load_dataset(t["dataset"], seed=t["seed"]), val_fraction=t["val_fraction"],
                 seed=t["seed"])
    config = TrainConfig(epochs=t["epochs"], batch_size=t["batch_size"], lr=t["lr"],
                         optimizer=t["optimizer"], l2=t["l2"], seed=t["seed"])
    trainer = Trainer(program, data, config)

    def sigma_stats() -> tuple[float, float, float]:
        program.set_input(trainer.binding.features, trainer.X_train)
        program.set_input(trainer.binding.target, trainer.T_train)
        program.forward()
        h = program.value("h1")
        d = h * (1 - h)
        return float(d.mean()), float(d.max()), float(np.mean((h < 0.02) | (h > 0.98)))

    start = sigma_stats()
    records = list(trainer.steps())
    return {"program": program, "config": t, "start": start, "end": sigma_stats(),
            "records": records}


def test_digits_numbers_are_what_training_shows(digits_run):
    program, t, records = digits_run["program"], digits_run["config"], digits_run["records"]
    w1, w2 = program.value("W1"), program.value("W2")
    x_width = program.nodes[program.index["X"]].shape[1]
    side = math.isqrt(x_width)
    assert side * side == x_width == 64 and program.value("b1").shape == (64,)
    assert program.value("b2").shape == (10,)
    first = records[0]
    # "W1's gradient norm is about half of W2's"
    half = first.grad_norms["W1"] / first.grad_norms["W2"]
    assert 0.4 <= half <= 0.6
    # "entry for entry about 5 times smaller" (RMS per entry)
    per_entry = (first.grad_norms["W2"] / math.sqrt(w2.size)) / \
        (first.grad_norms["W1"] / math.sqrt(w1.size))
    assert round(per_entry) == 5
    mean0, max0, _ = digits_run["start"]
    assert max0 <= 0.25 and round(mean0, 2) == 0.21
    assert 0.02 * (1 - 0.02) < 0.02  # a saturated unit passes back less than 0.02
    mean1, _, saturated = digits_run["end"]
    assert 0.07 <= saturated <= 0.14  # "about one h1 value in ten"
    assert round(mean1, 2) == 0.12
    # Updates: near 1e-1 at first; after a few epochs (from epoch 5 on, per-epoch medians) W2
    # between 1e-3 and 3e-3, W1 around 5e-3; the biases' first ratio is undefined
    assert t["optimizer"] == "adam" and t["lr"] == 0.01
    assert all(0.03 <= first.update_ratios[k] <= 0.3 for k in ("W1", "W2"))
    assert all(math.isinf(first.update_ratios[k]) for k in ("b1", "b2"))
    medians = {k: [statistics.median(r.update_ratios[k] for r in records if r.epoch == e)
                   for e in sorted({r.epoch for r in records})[4:]] for k in ("W1", "W2")}
    assert all(1e-3 <= m <= 3e-3 for m in medians["W2"]), medians["W2"]
    assert all(3e-3 <= m <= 1.5e-2 for m in medians["W1"]), medians["W1"]
    assert 4e-3 <= statistics.median(medians["W1"]) <= 6e-3  # "around 5e-3"
    claims = {8.0, 64.0, 10.0, float(w1.size), float(w2.size), float(round(per_entry)), 0.25,
              round(mean0, 2), 0.02, 0.98, round(mean1, 2), 1e-3, 3e-3, 5e-3, 1e-1, t["lr"],
              0.0, 1.0}  # 1.0: the 1 of σ(1−σ)
    assert_numbers_verified("digits_mlp", claims)


# -- validation -------------------------------------------------------------------------------
GOOD = {"format": "backprop-playground/lesson", "version": 1, "example": "square_of_sum",
        "title": "t", "steps": [{"text": "hello", "action": "select:q"}]}


def write(folder: Path, name: str, doc: object) -> Path:
    path = folder / f"{name}.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    ({"format": "something/else"}, "'format' must be"),
    ({"version": 2}, "unknown lesson version 2"),
    ({"example": "nope"}, "'example' must name a bundled example"),
    ({"title": " "}, "'title'"),
    ({"steps": []}, "'steps' must be a list"),
    ({"steps": [{"text": ""}]}, "step 1: 'text'"),
    ({"steps": [{"text": "a", "action": "jump"}]}, "unknown action 'jump'"),
    ({"steps": [{"text": "a", "action": "select:nobody"}]}, "no node named 'nobody'"),
    ({"steps": [{"text": "a", "action": "tab:Nothing"}]}, "unknown tab"),
    ({"steps": [{"text": "a", "action": "compare:nowhere"}]}, "no bundled example 'nowhere'"),
    ({"steps": [{"text": "a", "action": "train:5"}]}, "unknown action 'train:5'"),
    ({"steps": [{"text": "a", "note": 1}]}, "unknown field"),
    ({"extra": 1}, "unknown field"),
])
def test_bad_lessons_are_refused_with_the_reason(tmp_path, change, message):
    write(tmp_path, "bad", {**GOOD, **change})
    with pytest.raises(LessonError, match=re.escape(message)) as info:
        load_lessons(tmp_path)
    assert str(info.value).startswith("bad.json")


def test_training_actions(tmp_path):
    steps = [{"text": "one step", "action": "train_step"}, {"text": "all", "action": "train"},
             {"text": "other", "action": "compare:digits_mlp"}]
    write(tmp_path, "a", {**GOOD, "steps": steps})
    (lesson,) = load_lessons(tmp_path)
    assert [(s.kind, s.argument) for s in lesson.steps] == [
        ("train_step", None), ("train", None), ("compare", "digits_mlp")]


def test_broken_json_duplicates_and_a_missing_folder(tmp_path):
    write(tmp_path, "a", GOOD)
    assert [x.steps[0].argument for x in load_lessons(tmp_path)] == ["q"]
    write(tmp_path, "b", GOOD)
    with pytest.raises(LessonError, match="already has a lesson"):
        load_lessons(tmp_path)
    (tmp_path / "b.json").unlink()
    write(tmp_path, "c", "{not json")
    with pytest.raises(LessonError, match="c.json: not valid JSON"):
        load_lessons(tmp_path)
    assert load_lessons(tmp_path / "missing") == []
