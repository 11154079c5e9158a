"""Digests: what a display needs of an array, in fixed size, whatever the array's size."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine.digest import GRID_COLS, GRID_ROWS, as_matrix, digest, matrix_shape
from playground.engine.formatting import summary


@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 4), (40, 100), (5, 6, 7), (300, 2048)])
def test_statistics_are_numpys_and_the_grid_is_block_means(shape):
    rng = np.random.default_rng(len(shape))
    a = rng.normal(3.0, 2.0, shape)
    d = digest(a)
    assert d.shape == tuple(shape) and d.size == a.size
    flat = a.reshape(-1)
    np.testing.assert_allclose([d.mean, d.std, d.min, d.max, d.norm, d.mean_abs],
                               [flat.mean(), flat.std(), flat.min(), flat.max(),
                                np.linalg.norm(flat), np.abs(flat).mean()], rtol=1e-12)
    np.testing.assert_array_equal(d.head, flat[:6])
    m = as_matrix(a)
    assert matrix_shape(a.shape) == m.shape
    rows, cols = min(m.shape[0], GRID_ROWS), min(m.shape[1], GRID_COLS)
    assert d.grid.shape == (rows, cols)
    # each cell is the mean of its block; the blocks tile the matrix
    r_edges = np.linspace(0, m.shape[0], rows + 1).astype(int)
    c_edges = np.linspace(0, m.shape[1], cols + 1).astype(int)
    for i in (0, rows - 1):
        for j in (0, cols - 1):
            block = m[r_edges[i]:r_edges[i + 1], c_edges[j]:c_edges[j + 1]]
            assert d.grid[i, j] == pytest.approx(block.mean(), rel=1e-12)
    assert summary(d) == summary(a)


def test_a_digest_shares_no_memory_with_its_array():
    a = np.arange(12.0).reshape(3, 4)
    d = digest(a)
    a[:] = -1
    assert d.grid[0, 0] == 0.0 and d.head[0] == 0.0 and d.max == 11.0


def test_a_huge_array_gives_a_small_digest():
    d = digest(np.ones((4000, 3000), dtype=np.float32))
    assert d.grid.nbytes <= GRID_ROWS * GRID_COLS * 8 and d.head.size == 6 and d.mean == 1.0


def test_non_finite_values_show_in_the_statistics_and_draw_as_zero():
    d = digest(np.array([[1.0, np.nan], [np.inf, 2.0]]))
    assert np.isnan(d.mean) and np.isnan(d.min)
    np.testing.assert_array_equal(d.grid, [[1.0, 0.0], [0.0, 2.0]])
    empty = digest(np.zeros((0, 3)))
    assert empty.size == 0 and summary(empty) == "(0,3) empty"
    assert digest(np.array(True)).scalar() == 1.0
