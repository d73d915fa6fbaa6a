"""Tests of the Z3 tiling model (no IR): exact memory formula, optimality against brute force,
objective preferences, kernel selection, single-tile and does-not-fit rules, caching."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dory_xdsl.errors import DoryError
from dory_xdsl.tiling.layer_geometry import LayerGeometry, conv_layer
from dory_xdsl.target import CONV, DEPTHWISE, DEPTHWISE_LESS_4, GAP8, POINTWISE, Target
from dory_xdsl.tiling.tiles import TileSizes, enumerate_tiles, l1_layout
from dory_xdsl.tiling.tiling_model import (
    FIELDS,
    AxisTable,
    axis_row,
    candidates,
    clear_cache,
    evaluate,
    parallel_axis,
    tile_layer,
    undominated,
)
from dory_xdsl.tiling.tiling_search import COST_FIELDS


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
    # fetched HWC input (bounded by the L1 extent) 5*9*16, one copy; CHW input the same + 4 B slack,
    # one copy; bufferC 8*(3*5+3).
    sizes = {b.name: b.size for b in layout.buffers}
    assert sizes == {"in": 5 * 9 * 16, "in_chw": 5 * 9 * 16 + 4, "out": 128, "weights": 144, "k": 64, "lambda": 64,
                     "bufferC": 8 * (3 * 5 + 3)}
    assert layout.total == 720 + 724 + 128 * 2 + 144 + 64 + 64 + 144


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


def brute_force_best(g: LayerGeometry, target: Target, objective: str, double_buffer: bool) -> int:
    """The best objective value over every candidate combination, one `evaluate` at a time."""
    par = parallel_axis(g, target)
    domains = [candidates(n, target.num_cores if a == par else 0, objective)
               for a, n in (("h", g.h_out), ("w", g.w_out), ("c", g.cout))]
    scores = []
    for h, w, c in itertools.product(*domains):
        ev = evaluate(g, TileSizes(h, w, c), target, double_buffer)
        if ev["l1_bytes"] <= target.l1_bytes:
            scores.append(ev["dory"] if objective == "dory" else -ev["cycles"])
    return max(scores) if objective == "dory" else -max(scores)


@pytest.mark.parametrize("double_buffer", [True, False], ids=["db", "sb"])
@pytest.mark.parametrize("objective", ["dory", "cost"])
@pytest.mark.parametrize("g,budget", SMALL_LAYERS, ids=[g.name for g, _ in SMALL_LAYERS])
def test_optimum_matches_brute_force(g: LayerGeometry, budget: int, objective: str,
                                     double_buffer: bool) -> None:
    target = GAP8.with_budget(l1_bytes=budget)
    result = tile_layer(g, target, objective, double_buffer)
    assert result.proved_optimal and not result.single_tile
    assert result.l1_bytes == l1_layout(g, result.sizes, target, double_buffer).total <= budget
    assert result.objective_value == brute_force_best(g, target, objective, double_buffer)


@st.composite
def small_layers(draw: st.DrawFn) -> LayerGeometry:
    kind = draw(st.sampled_from(["conv", "pointwise", "depthwise", "maxpool", "avgpool", "add", "linear"]))
    cin = draw(st.integers(1, 24))
    cout = cin if kind in ("depthwise", "maxpool", "avgpool", "add") else draw(st.integers(1, 24))
    extra = dict(requant_bits=draw(st.sampled_from([None, 32, 64])), name=f"rand_{kind}")
    if kind == "linear":
        return LayerGeometry("linear", 1, 1, draw(st.integers(1, 64)), cout, **extra)
    h, w = draw(st.integers(1, 14)), draw(st.integers(1, 14))
    if kind in ("add", "pointwise"):
        return LayerGeometry(kind, h, w, cin, cout, **extra)
    dil = draw(st.integers(1, 2)) if kind in ("conv", "depthwise") else 1
    k = draw(st.integers(1, 3))
    h, w = max(h, (k - 1) * dil + 1), max(w, (k - 1) * dil + 1)
    stride = draw(st.integers(1, 2))
    pads = tuple(draw(st.integers(0, k - 1)) for _ in range(4))
    return LayerGeometry(kind, h, w, cin, cout, k, k, (stride, stride), pads,  # type: ignore[arg-type]
                         (dil, dil), **extra)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_layers(), st.sampled_from(["cost", "dory"]), st.booleans(), st.floats(0.0, 0.9))
def test_random_layers_match_brute_force(g: LayerGeometry, objective: str, double_buffer: bool,
                                         where: float) -> None:
    """Budgets between the smallest tiling and the whole layer: proved, and brute force agrees
    (this also checks that dropping dominated candidates loses no optimum)."""
    smallest = evaluate(g, TileSizes(1, 1, 1), GAP8, double_buffer)["l1_bytes"]
    whole = evaluate(g, TileSizes(g.h_out, g.w_out, g.cout), GAP8, double_buffer)["l1_bytes"]
    assume(smallest < whole)  # else the whole layer is one tile, without a search
    target = GAP8.with_budget(l1_bytes=int(smallest + where * (whole - smallest)))
    result = tile_layer(g, target, objective, double_buffer)
    assert result.proved_optimal and not result.single_tile
    assert result.objective_value == brute_force_best(g, target, objective, double_buffer)


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


# ----------------------------------------------------------------------------- determinism

MBV1_DW = LayerGeometry("depthwise", 8, 8, 512, 512, 3, 3, (1, 1), (1, 1, 1, 1), requant_bits=32,
                        name="mbv1_dw_512")


def _answer(r) -> tuple:
    """Everything of a result but the wall time and the cache flag."""
    return (r.sizes, r.counts, r.l1_bytes, r.objective_value, r.cycles, r.proved_optimal,
            r.search_space, r.proof_space, r.z3_work)


@pytest.mark.parametrize("objective", ["cost", "dory"])
def test_same_layer_solved_twice_gives_the_same_answer_and_z3_work(objective: str) -> None:
    clear_cache()
    first = tile_layer(MBV1_DW, GAP8, objective)
    clear_cache()
    # other layers solved in between must not change Z3's search (fresh context per layer)
    for g, budget in SMALL_LAYERS[:3]:
        tile_layer(g, GAP8.with_budget(l1_bytes=budget), objective)
    second = tile_layer(MBV1_DW, GAP8, objective)
    assert first.proved_optimal and not second.from_cache
    assert _answer(first) == _answer(second) and first.z3_work > 0


def test_tiny_wall_clock_budget_gives_the_same_answer_or_fails_loudly() -> None:
    clear_cache()
    reference = tile_layer(MBV1_DW, GAP8)
    clear_cache()
    with pytest.raises(DoryError) as info:  # a ~0.1 s proof cannot finish in 1 ms
        tile_layer(MBV1_DW, GAP8, timeout_s=0.001)
    msg = str(info.value)
    assert "mbv1_dw_512" in msg and "wall-clock" in msg and "timeout" in msg and "\n" not in msg
    for g, budget in SMALL_LAYERS:  # small proofs may finish in time: then the same answer
        target = GAP8.with_budget(l1_bytes=budget)
        clear_cache()
        normal = tile_layer(g, target)
        clear_cache()
        try:
            hurried = tile_layer(g, target, timeout_s=0.005)
        except DoryError as e:
            assert "wall-clock" in str(e)
        else:
            assert _answer(hurried) == _answer(normal)
    clear_cache()
    assert _answer(tile_layer(MBV1_DW, GAP8)) == _answer(reference)


def test_exhausted_resource_limit_keeps_the_optimum_unproved_deterministically() -> None:
    clear_cache()
    full = tile_layer(MBV1_DW, GAP8)
    for rlimit in (2_000, 300_000):  # out of resources in the first / the second check
        starved = tile_layer(MBV1_DW, GAP8, rlimit=rlimit)
        assert not starved.proved_optimal and (starved.sizes, starved.cycles) == (full.sizes, full.cycles)
        clear_cache()
        assert _answer(tile_layer(MBV1_DW, GAP8, rlimit=rlimit)) == _answer(starved)


def test_z3_refutes_a_tiling_that_is_not_optimal() -> None:
    """Z3 decides: handed a feasible but worse tiling as 'the optimum', the proof fails."""
    from dory_xdsl.tiling.tiling_model import _prove, axis_tables, exhaustive_search

    g, budget = SMALL_LAYERS[0]
    target = GAP8.with_budget(l1_bytes=budget)
    tables = axis_tables(g, target, "cost")
    found = exhaustive_search(g, target, "cost", True, tables)
    assert found is not None
    assert _prove(g, target, "cost", True, tables, found.best, found.value, 20.0, 10**8)[0]
    worse = next(b for b in itertools.product(*(range(len(t)) for t in tables))
                 if b != found.best and (ev := evaluate(g, TileSizes(*(t.rows[i][0] for t, i in zip(tables, b))),
                                                        target))["l1_bytes"] <= budget
                 and ev["cycles"] > found.value)
    sizes = TileSizes(*(t.rows[i][0] for t, i in zip(tables, worse)))
    with pytest.raises(AssertionError, match="disagree"):
        _prove(g, target, "cost", True, tables, worse, evaluate(g, sizes, target)["cycles"], 20.0, 10**8)
    with pytest.raises(AssertionError, match="disagree"):  # a value the tiling does not reach
        _prove(g, target, "cost", True, tables, found.best, found.value - 1, 20.0, 10**8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_layers(), st.booleans())
def test_dropped_dominated_candidates_never_use_less_l1_or_fewer_cycles(g: LayerGeometry,
                                                                       double_buffer: bool) -> None:
    """The lemma behind `undominated`: swapping a dropped tile size for its dominator never
    increases the L1 bytes nor the modelled cycles, whatever the other axes are."""
    par = parallel_axis(g, GAP8)
    sizes = {a: candidates(n, GAP8.num_cores if a == par else 0, "cost")
             for a, n in (("h", g.h_out), ("w", g.w_out), ("c", g.cout))}
    for axis, tiles in sizes.items():
        table = AxisTable(axis, tuple(axis_row(g, GAP8, axis, t) for t in tiles))
        kept = [tiles[i] for i in undominated(table)]
        fields = {t: [table.rows[tiles.index(t)][FIELDS.index(f)] for f in COST_FIELDS] for t in tiles}
        for dropped in set(tiles) - set(kept):
            better = next(t for t in kept if all(a <= b for a, b in zip(fields[t], fields[dropped])))
            others = [sizes[a] if a != axis else [None] for a in "hwc"]
            for combo in itertools.product(*others):
                pick = {a: v for a, v in zip("hwc", combo)}
                old = evaluate(g, TileSizes(**{**pick, axis: dropped}), GAP8, double_buffer)
                new = evaluate(g, TileSizes(**{**pick, axis: better}), GAP8, double_buffer)
                assert new["l1_bytes"] <= old["l1_bytes"] and new["cycles"] <= old["cycles"]
