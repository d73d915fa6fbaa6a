"""Tests of the Z3 tiling model (no IR): exact memory formula, optimality against brute force,
objective preferences, kernel selection, single-tile and does-not-fit rules, caching."""

from __future__ import annotations

import itertools
import re

import pytest

from dory_xdsl.errors import DoryError
from dory_xdsl.layer_geometry import LayerGeometry, conv_layer
from dory_xdsl.target import CONV, DEPTHWISE, DEPTHWISE_LESS_4, GAP8, POINTWISE
from dory_xdsl.tiles import TileSizes, enumerate_tiles, l1_layout
from dory_xdsl.tiling_model import candidates, clear_cache, evaluate, parallel_axis, tile_layer


def test_memory_formula_conv_by_hand() -> None:
    g = conv_layer("c", 16, 16, 8, 16, 3, pad=1, requant_bits=32)
    layout = l1_layout(g, TileSizes(4, 16, 16), GAP8)
    # input: interior tiles need 4+2 rows x 16 cols x 8 ch; output 4x16x16; weights 16*3*3*8;
    # k, lambda 16*4 each; im2col 2*8*3*3*8. Four tiles: in/out doubled; one channel tile.
    assert {b.name: (b.size, len(b.offsets)) for b in layout.buffers} == {
        "in": (768, 2), "out": (1024, 2), "weights": (1152, 1), "k": (64, 1), "lambda": (64, 1),
        "im2col": (1152, 1)}
    assert layout.total == 768 * 2 + 1024 * 2 + 1152 + 64 + 64 + 1152
    assert evaluate(g, TileSizes(4, 16, 16))["l1_bytes"] == layout.total


def test_memory_formula_depthwise_by_hand() -> None:
    g = LayerGeometry("depthwise", 8, 8, 16, 16, 3, 3, (2, 2), (0, 0, 1, 1), requant_bits=32)
    layout = l1_layout(g, TileSizes(2, 4, 16), GAP8)
    # rows: tiles need input rows [0,5) and [4,8)+1 zero row -> 5; cols: [0,8)+1 zero col -> 9;
    # CHW input 5*9*16 + 4 B slack; bufferC 8*(3*5+3).
    sizes = {b.name: b.size for b in layout.buffers}
    assert sizes == {"in": 5 * 9 * 16 + 4, "out": 128, "weights": 144, "k": 64, "lambda": 64,
                     "bufferC": 8 * (3 * 5 + 3)}
    assert layout.total == 724 * 2 + 128 * 2 + 144 + 64 + 64 + 144


def test_alignment_of_buffers() -> None:
    g = LayerGeometry("depthwise", 5, 5, 3, 3, 3, 3, pads=(1, 1, 1, 1))
    layout = l1_layout(g, TileSizes(5, 5, 3), GAP8)
    assert all(off % 4 == 0 for b in layout.buffers for off in b.offsets)


SMALL_LAYERS = [
    (conv_layer("conv", 12, 12, 8, 16, 3, pad=1, requant_bits=32), 3200),
    (conv_layer("conv_s2", 11, 9, 4, 12, 3, stride=2, pad=(0, 1, 1, 0), requant_bits=64), 1500),
    (conv_layer("pw", 10, 10, 16, 24, 1, requant_bits=32, has_bias=True), 2500),
    (LayerGeometry("depthwise", 10, 10, 12, 12, 3, 3, (2, 2), (0, 0, 1, 1), requant_bits=32, name="dw"), 1200),
    (LayerGeometry("maxpool", 12, 12, 8, 8, 2, 2, (2, 2), name="mp"), 500),
    (LayerGeometry("linear", 1, 1, 64, 40, requant_bits=32, name="fc"), 2000),
    (conv_layer("dil", 1, 30, 8, 8, (1, 3), pad=(0, 4, 0, 0), dilation=2, requant_bits=32), 1100),
]


@pytest.mark.parametrize("objective", ["dory", "cost"])
@pytest.mark.parametrize("g,budget", SMALL_LAYERS, ids=[g.name for g, _ in SMALL_LAYERS])
def test_optimum_matches_brute_force(g: LayerGeometry, budget: int, objective: str) -> None:
    target = GAP8.with_budget(l1_bytes=budget)
    result = tile_layer(g, target, objective)
    assert result.proved_optimal and not result.single_tile
    assert result.l1_bytes == l1_layout(g, result.sizes, target).total <= budget
    par = parallel_axis(g, target)
    domains = [candidates(n, target.num_cores if a == par else 0, objective)
               for a, n in (("h", g.h_out), ("w", g.w_out), ("c", g.cout))]
    scores = []
    for h, w, c in itertools.product(*domains):
        ev = evaluate(g, TileSizes(h, w, c), target)
        if ev["l1_bytes"] <= budget:
            scores.append(ev["dory"] if objective == "dory" else -ev["cycles"])
    best = max(scores)
    assert (result.objective_value if objective == "dory" else -result.cycles) == best


def test_dory_objective_takes_the_bonus_shapes() -> None:
    g = conv_layer("dronet_3x3", 25, 25, 32, 32, 3, pad=1, requant_bits=32)
    r = tile_layer(g, GAP8, "dory")
    assert r.sizes.h % 8 == 0 and r.sizes.w % 2 == 0 and r.sizes.c % 4 == 0
    assert r.sizes.h * r.sizes.w >= 16
    # and it fills L1 as far as those shapes allow: the budget is nearly used up
    assert r.l1_bytes > 0.95 * GAP8.l1_bytes


def test_cost_model_charges_transfers_and_tiles() -> None:
    g = conv_layer("c", 16, 16, 16, 16, 3, pad=1, requant_bits=32)
    one, two, four = (evaluate(g, TileSizes(h, 16, 16), GAP8, double_buffer=False)["cycles"]
                      for h in (16, 8, 4))
    assert one < two < four
    # four tiles each, same parallel rounds: column halos cost less than re-fetching the
    # input for every channel tile
    spatial = evaluate(g, TileSizes(8, 8, 16), GAP8, double_buffer=False)["cycles"]
    mixed = evaluate(g, TileSizes(8, 16, 8), GAP8, double_buffer=False)["cycles"]
    assert spatial < mixed
    # channels only: the input tile is stationary (fetched once) and has no halo
    chans = evaluate(g, TileSizes(16, 16, 4), GAP8, double_buffer=False)["cycles"]
    assert chans < spatial
    # rows split below the core count leave cores idle: 4-row tiles cost more than 8-row ones
    assert evaluate(g, TileSizes(4, 16, 16), GAP8)["cycles"] > evaluate(g, TileSizes(8, 16, 16), GAP8)["cycles"]


def test_cost_objective_uses_fewest_tiles_when_nothing_overlaps() -> None:
    g = conv_layer("pw", 16, 16, 32, 32, 1, requant_bits=32)
    target = GAP8.with_budget(l1_bytes=10_000)  # the whole layer needs 17,664 B
    assert evaluate(g, TileSizes(16, 16, 32), target, double_buffer=False)["l1_bytes"] > 10_000
    r = tile_layer(g, target, "cost", double_buffer=False)
    assert r.num_tiles == 2 and r.proved_optimal


def test_kernel_selection() -> None:
    assert conv_layer("a", 8, 8, 4, 4, 1).kernel == POINTWISE
    assert conv_layer("b", 8, 8, 4, 4, 1, stride=2).kernel == CONV
    assert conv_layer("c", 8, 8, 4, 4, 1, pad=1).kernel == CONV
    assert conv_layer("d", 8, 8, 4, 4, 3, pad=1).kernel == CONV
    assert LayerGeometry("depthwise", 8, 8, 4, 4, 3, 3).kernel == DEPTHWISE
    assert LayerGeometry("depthwise", 8, 8, 4, 4, 1, 3).kernel == DEPTHWISE_LESS_4
    with pytest.raises(DoryError, match="'bad_pw'.*pointwise kernel needs"):
        LayerGeometry("pointwise", 8, 8, 4, 4, stride=(2, 2), name="bad_pw")
    pw = conv_layer("pw", 8, 8, 4, 4, 1)
    names = {b.name for b in l1_layout(pw, TileSizes(8, 8, 4), GAP8).buffers}
    assert "im2col" not in names
    strided = conv_layer("s", 8, 8, 4, 4, 1, stride=2)
    im2col = l1_layout(strided, TileSizes(4, 4, 4), GAP8).buffer("im2col")
    assert im2col.size == 2 * 4 * 1 * 1 * 8


def test_depthwise_tiles_have_symmetric_kernel_padding() -> None:
    g = LayerGeometry("depthwise", 64, 64, 64, 64, 3, 3, (2, 2), (0, 0, 1, 1), requant_bits=32,
                      name="mbv1_dw_s2")
    r = tile_layer(g, GAP8, "cost")
    tiles = enumerate_tiles(g, r.sizes)
    assert all(t.pad[0] == t.pad[2] and t.pad[1] == t.pad[3] for t in tiles)
    # the (0, 1) bottom/right border is materialised as zeros in L1 instead
    assert any(t.zeros[2] == 1 for t in tiles) and any(t.zeros[3] == 1 for t in tiles)


def test_whole_layer_that_fits_is_one_tile() -> None:
    g = conv_layer("small", 8, 8, 8, 8, 3, pad=1, requant_bits=32)
    for objective in ("dory", "cost"):
        r = tile_layer(g, GAP8, objective)
        assert r.single_tile and r.counts == (1, 1, 1) and r.sizes == TileSizes(8, 8, 8)
        layout = l1_layout(g, r.sizes, GAP8)
        assert all(len(b.offsets) == 1 for b in layout.buffers)
        assert r.l1_bytes == layout.total


def test_layer_that_cannot_fit_names_it_with_bytes() -> None:
    g = conv_layer("huge_3x3", 4, 4, 2048, 4, 3, pad=1, requant_bits=32)
    needed = min(evaluate(g, TileSizes(*s))["l1_bytes"]
                 for s in itertools.product(range(1, 5), range(1, 5), range(1, 5)))
    with pytest.raises(DoryError) as info:
        tile_layer(g, GAP8)
    msg = str(info.value)
    assert "huge_3x3" in msg and "\n" not in msg
    numbers = [int(n) for n in re.findall(r"(\d+) B\b", msg)]
    assert numbers == [needed, GAP8.l1_bytes] and needed > GAP8.l1_bytes


def test_unknown_objective_is_a_user_error() -> None:
    with pytest.raises(DoryError, match="objective"):
        tile_layer(conv_layer("x", 4, 4, 4, 4, 1), GAP8, "fastest")


def test_identical_layers_are_solved_once() -> None:
    clear_cache()
    target = GAP8.with_budget(l1_bytes=3000)
    a = tile_layer(conv_layer("first", 12, 12, 8, 16, 3, pad=1, requant_bits=32), target)
    b = tile_layer(conv_layer("second", 12, 12, 8, 16, 3, pad=1, requant_bits=32), target)
    assert not a.from_cache and b.from_cache and a.sizes == b.sizes
    c = tile_layer(conv_layer("third", 12, 12, 8, 16, 3, pad=1, requant_bits=32), target, "dory")
    assert not c.from_cache
