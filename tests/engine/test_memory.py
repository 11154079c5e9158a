"""The memory budget: what a graph asks for is counted before anything is allocated."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from playground.engine import MemoryBudgetError, Program, ProgramNode, get_op
from playground.engine import memory as M
from playground.graph import CompileError, CompileMemoryError, GraphModel, compile_graph, loads

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def node(key: str, op: str, inputs: tuple[int, ...] = (), **params: object) -> ProgramNode:
    return ProgramNode(key, key, op, get_op(op).resolve_params(params), list(inputs))


def outer_product_graph(n: int) -> GraphModel:
    # the 424-byte file of the issue: parameters (n, 1) and (1, n) and their matmul (n, n)
    m = GraphModel()
    a = m.add_node("parameter", "a", {"shape": [n, 1]})
    b = m.add_node("parameter", "b", {"shape": [1, n]})
    p = m.add_node("matmul", "outer")
    m.connect(a.id, p.id, "a")
    m.connect(b.id, p.id, "b")
    return m


def test_parse_budget() -> None:
    assert M.parse_budget(1234) == 1234
    assert M.parse_budget("512M") == 512 * 1024**2
    assert M.parse_budget("2G") == M.parse_budget("2GiB") == M.parse_budget("2 gb") == 2 * 1024**3
    assert M.parse_budget("1.5K") == 1536
    assert M.parse_budget("0.25") == int(0.25 * M.available_memory())
    for bad in ("", "lots", "-1G", "0", "inf", True, float("nan")):
        with pytest.raises((ValueError, TypeError)):
            M.parse_budget(bad)  # type: ignore[arg-type]


def test_where_the_budget_comes_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(M.ENV, raising=False)
    assert M.memory_budget() == int(M.DEFAULT_FRACTION * M.available_memory())
    monkeypatch.setenv(M.ENV, "300M")
    assert M.memory_budget() == 300 * 1024**2
    with M.budget("1G"):
        assert M.memory_budget() == 1024**3  # the application's setting wins
    assert M.memory_budget() == 300 * 1024**2
    monkeypatch.setenv(M.ENV, "nonsense")
    assert M.memory_budget() == int(M.DEFAULT_FRACTION * M.available_memory())
    phys = M.available_memory()
    assert 0 < phys <= M.os.sysconf("SC_PAGE_SIZE") * M.os.sysconf("SC_PHYS_PAGES")


def test_compile_refuses_a_graph_over_budget_before_allocating() -> None:
    model = outer_product_graph(20000)  # 20000² float64 = 3.2 GB for one value
    tracemalloc.start()
    try:
        with M.budget("1G"), pytest.raises(CompileMemoryError) as info:
            compile_graph(model)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024**2
    exc = info.value
    assert isinstance(exc, CompileError) and isinstance(exc, MemoryBudgetError)
    message = str(exc)
    assert "\n" not in message
    assert "node 'outer' (matmul) of shape (20000, 20000) needs 2.98 GB" in message
    assert "over the memory budget of 1 GB (set by the application)" in message
    assert exc.node_ids == (model.by_name("outer").id,)
    assert exc.nbytes > 2 * 20000**2 * 8 and exc.budget == 1024**3


def test_a_graph_file_of_a_few_hundred_bytes_cannot_ask_for_gigabytes() -> None:
    text = ('{"format": "backprop-playground/graph", "version": 1, "nodes": ['
            '{"id": "a", "op": "parameter", "name": "a", "params": {"shape": [50000, 1]}},'
            '{"id": "b", "op": "parameter", "name": "b", "params": {"shape": [1, 50000]}},'
            '{"id": "m", "op": "matmul", "name": "m"}], "edges": ['
            '{"id": "e1", "src": "a", "dst": "m", "port": "a"},'
            '{"id": "e2", "src": "b", "dst": "m", "port": "b"}]}')
    assert len(text) < 424
    with M.budget("2G"), pytest.raises(MemoryBudgetError, match=r"\(50000, 50000\) needs 18\.6 GB"):
        compile_graph(loads(text))


def test_the_batch_dimension_counts_at_the_batch_size() -> None:
    nodes = [node("x", "input", shape=[None, 1000]), node("W", "parameter", shape=[1000, 1000]),
             node("y", "matmul", (0, 1))]
    with M.budget("64M"):
        prog = Program(nodes, output=2)  # batch 1: ~32 MB for W (value, gradient, Adam state)
        with pytest.raises(MemoryBudgetError, match=r"'x' \(input\) of shape \(N, 1000\) needs "
                                                    r"76\.3 MB .* at batch size 10000"):
            M.check_program_memory(prog.nodes, prog.dtype, batch=10_000)
    assert M.check_program_memory(prog.nodes, np.float32, batch=1) < M.check_program_memory(
        prog.nodes, np.float64, batch=1)


def test_under_budget_compiles_as_before() -> None:
    with M.budget("1G"):
        prog = compile_graph(outer_product_graph(100))
    assert prog.run().shape == (100, 100)


def test_training_checks_the_budget_at_its_largest_batch() -> None:
    from playground.graph import load
    from playground.training import TrainConfig, Trainer, TrainingError
    from playground.training.datasets import load_dataset, split

    program = compile_graph(load(EXAMPLES / "digits_mlp.json"))
    data = split(load_dataset("digits"), val_fraction=0.3)
    rows = len(data.X_train)
    with M.budget("2M"), pytest.raises(TrainingError, match=rf"at batch size {rows}, over the "
                                                            r"memory budget of 2 MB") as info:
        Trainer(program, data, TrainConfig(epochs=1))
    assert info.value.node in {n.name for n in program.nodes}
    Trainer(program, data, TrainConfig(epochs=1))  # the default budget is ample
