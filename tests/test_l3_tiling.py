"""The L3 -> L2 tiling model (`dory_xdsl.tiling.l3_tiling`) and the network L3 planner (`dory_xdsl.tiling.l3_planner`).

Pure tests: no IR. L1 tilings are given as tile sizes (the planner takes them as input)."""

from __future__ import annotations

import itertools

import pytest

from dory_xdsl.errors import DoryError
from dory_xdsl.tiling.l2_planner import align_up
from dory_xdsl.tiling.l3_planner import Program, Step, chain_program, plan_l3
from dory_xdsl.tiling.l3_tiling import (
    LayerPlacement,
    best_tiling,
    candidates,
    channel_options,
    evaluate,
    l2_tiles,
    row_options,
    smallest_tiling,
)
from dory_xdsl.tiling.layer_geometry import LayerGeometry, conv_layer
from dory_xdsl.generators.mobilenet import MobileNetConfig, layer_table
from dory_xdsl.tiling.tiles import TileSizes, enumerate_tiles, parameter_bytes_per_channel

IN_L3 = LayerPlacement((True,), False)
OUT_L3 = LayerPlacement((False,), True)
BOTH_L3 = LayerPlacement((True,), True)
ALL_L2 = LayerPlacement((False,), False)


def pw1024(name: str = "pw") -> LayerGeometry:
    return LayerGeometry("pointwise", 4, 4, 1024, 1024, requant_bits=32, name=name)


def param_bytes(g: LayerGeometry) -> int:
    return g.cout * sum(parameter_bytes_per_channel(g).values())


LAYERS = [
    conv_layer("conv3x3s2", 33, 20, 8, 24, 3, stride=2, pad=1, requant_bits=32),
    LayerGeometry("depthwise", 17, 9, 16, 16, 3, 3, (1, 1), (1, 1, 1, 1), requant_bits=32),
    LayerGeometry("pointwise", 12, 5, 24, 40, requant_bits=32),
    LayerGeometry("add", 6, 7, 8, 8),
]


# ----------------------------------------------------------------------------- one layer


@pytest.mark.parametrize("g", LAYERS, ids=lambda g: g.kind)
@pytest.mark.parametrize("l1", [TileSizes(2, 3, 8), TileSizes(3, 1, 4)])
def test_l2_tiles_are_unions_of_whole_l1_tiles(g: LayerGeometry, l1: TileSizes) -> None:
    """Every L1 tile lies in exactly one L2 tile, with its input rows/channels inside the window."""
    l1 = TileSizes(min(l1.h, g.h_out), min(l1.w, g.w_out), min(l1.c, g.cout))
    for rows, channels in itertools.product(row_options(g, l1), channel_options(g, l1)):
        assert rows % l1.h == 0 or rows == g.h_out
        assert channels % l1.c == 0 or channels == g.cout
        for order in ("channels", "rows"):
            tiles = l2_tiles(g, rows, channels, order)
            covered = sorted((r, c) for t in tiles for r in range(*t.out_rows) for c in range(*t.out_channels))
            assert covered == sorted(itertools.product(range(g.h_out), range(g.cout)))
            for t1 in enumerate_tiles(g, l1):
                homes = [t for t in tiles if t.out_rows[0] <= t1.out_h[0] and t1.out_h[1] <= t.out_rows[1]
                         and t.out_channels[0] <= t1.out_c[0] and t1.out_c[1] <= t.out_channels[1]]
                assert len(homes) == 1
                home = homes[0]
                assert home.in_rows[0] <= t1.in_h[0] and t1.in_h[1] <= home.in_rows[1]
                assert home.in_channels[0] <= t1.in_c[0] and t1.in_c[1] <= home.in_channels[1]


def test_streamed_weights_footprint_and_traffic() -> None:
    g = pw1024()
    t = evaluate(g, 4, 16, "channels", ALL_L2, compute_cycles=1000)
    assert t.counts == (1, 64) and t.weights_mode == "stream"
    assert dict(t.buffers) == {"weights": 2 * 16 * 1024, "k": 2 * 16 * 4, "lambda": 2 * 16 * 4}
    assert t.l3_read == param_bytes(g) and t.l3_write == 0
    assert t.l3_requests == 64 * 3
    whole = evaluate(g, 4, 1024, "channels", ALL_L2, compute_cycles=1000)
    assert whole.weights_mode == "whole" and whole.l2_bytes == param_bytes(g)
    assert whole.l3_read == param_bytes(g)


def test_loop_order_decides_what_is_fetched_again() -> None:
    """Both axes tiled: channel-outer re-reads the input windows, row-outer the weight chunks."""
    g = conv_layer("c", 16, 8, 8, 32, 3, pad=1, requant_bits=32)
    rows, channels = 4, 8
    spans = [t for t in l2_tiles(g, rows, channels, "rows") if t.out_channels[0] == 0]
    window_bytes = sum((t.in_rows[1] - t.in_rows[0]) * g.w * g.cin for t in spans)
    assert window_bytes > g.h * g.w * g.cin  # the halo rows are read twice
    by_channels = evaluate(g, rows, channels, "channels", IN_L3, 0)
    by_rows = evaluate(g, rows, channels, "rows", IN_L3, 0)
    assert by_channels.l3_read == 4 * window_bytes + param_bytes(g)
    assert by_rows.l3_read == window_bytes + 4 * param_bytes(g)


def test_output_windows_are_written_once_and_double_buffered() -> None:
    g = LayerGeometry("depthwise", 20, 10, 16, 16, 3, 3, (1, 1), (1, 1, 1, 1), requant_bits=32)
    t = evaluate(g, 5, 8, "rows", BOTH_L3, 0)
    assert t.l3_write == g.output_elements
    buffers = dict(t.buffers)
    assert buffers["out"] == 2 * align_up(5 * 10 * 8, 8)
    assert buffers["in0"] == 2 * align_up(7 * 10 * 8, 8)  # 5 rows + 2 halo rows, 8 channels


def test_best_tiling_is_the_cheapest_that_fits() -> None:
    g = pw1024()
    l1 = TileSizes(4, 4, 8)
    everything = candidates(g, l1, ALL_L2, 5000)
    for allowance in (20_000, 70_000, 300_000, 2_000_000):
        fitting = [t for t in everything if t.l2_bytes <= allowance]
        chosen = best_tiling(g, l1, ALL_L2, 5000, allowance)
        assert chosen is not None and chosen.l2_bytes <= allowance
        assert chosen.cycles == min(t.cycles for t in fitting)
    smallest = smallest_tiling(g, l1, ALL_L2, 5000)
    assert smallest.channels == 8
    assert best_tiling(g, l1, ALL_L2, 5000, smallest.l2_bytes - 1) is None


def test_rows_are_cut_only_for_activations_in_l3() -> None:
    g = LAYERS[0]
    l1 = TileSizes(2, 10, 8)
    assert {t.rows for t in candidates(g, l1, ALL_L2, 0)} == {g.h_out}
    assert len({t.rows for t in candidates(g, l1, IN_L3, 0)}) > 1


def test_prefetch_hides_whole_parameter_reads() -> None:
    g = LAYERS[2]
    blocking = evaluate(g, g.h_out, g.cout, "channels", ALL_L2, 10_000)
    hidden = evaluate(g, g.h_out, g.cout, "channels", ALL_L2, 10_000, hidden_cycles=10**6)
    assert hidden.cycles == 10_000 < blocking.cycles


# ----------------------------------------------------------------------------- network


def test_weights_larger_than_l2_are_streamed() -> None:
    g = pw1024("big")
    program = chain_program([("big", g, TileSizes(4, 4, 8), 2_000_000)])
    budget = 100_000
    plan = plan_l3(program, budget)
    tiling = plan.tilings["big"]
    assert plan.modes["big"] == "stream" and tiling.counts[1] > 1
    assert plan.l2.peak <= budget
    assert tiling.l3_read == param_bytes(g) == plan.l3_read
    assert not plan.tensors_l3


def test_activations_move_to_l3_when_they_do_not_fit() -> None:
    a = conv_layer("a", 64, 64, 8, 32, 3, pad=1, requant_bits=32)
    b = LayerGeometry("pointwise", 64, 64, 32, 64, requant_bits=32)
    c = LayerGeometry("depthwise", 64, 64, 64, 64, 3, 3, (2, 2), (1, 1, 1, 1), requant_bits=32)
    program = chain_program([("a", a, TileSizes(8, 64, 32), 10**6), ("b", b, TileSizes(8, 64, 64), 10**6),
                             ("c", c, TileSizes(4, 32, 64), 10**6)])
    budget = 300_000
    plan = plan_l3(program, budget)
    assert plan.l2.peak <= budget
    assert plan.tensors_l3  # a.out + b.out = 393,216 B cannot both be in L2
    for name in plan.tensors_l3:
        producer = next(s for s in program.steps if s.output == name)
        assert plan.tilings[producer.name].placement.output_l3
        for consumer in (s for s in program.steps if name in s.inputs):
            assert plan.tilings[consumer.name].placement.inputs_l3 == (True,)
    moved = sum(program.size(t) for t in plan.tensors_l3)
    assert plan.l3_write == moved
    assert {b.name for b in plan.l2.buffers}.isdisjoint(plan.tensors_l3)


def test_a_residual_bypass_leaves_l2_while_it_is_not_used() -> None:
    a = conv_layer("a", 32, 32, 16, 64, 3, pad=1, requant_bits=32)
    big = LayerGeometry("pointwise", 32, 32, 64, 128, requant_bits=32)
    back = LayerGeometry("pointwise", 32, 32, 128, 64, requant_bits=32)
    add = LayerGeometry("add", 32, 32, 64, 64)
    steps = (
        Step("a", ("in",), "x", a, TileSizes(8, 32, 32), 10**6),
        Step("b", ("x",), "y", big, TileSizes(8, 32, 32), 10**6),
        Step("c", ("y",), "z", back, TileSizes(8, 32, 32), 10**6),
        Step("d", ("x", "z"), "out", add, TileSizes(8, 32, 64), 10**5),
        Step("copy", ("out",), "final"),
    )
    sizes = (("in", 16384), ("x", 65536), ("y", 131072), ("z", 65536), ("out", 65536), ("final", 65536))
    program = Program(steps, sizes, ("in",), ("final",))
    assert program.movable("x") and not program.movable("out") and not program.movable("in")
    assert program.live_range("x") == (0, 3) and program.live_range("final") == (0, 4)  # output: whole program
    # x, y and z are live together at step c: 262,144 B
    budget = 200_000
    plan = plan_l3(program, budget)
    assert plan.l2.peak <= budget
    assert "x" in plan.tensors_l3 and "x" not in {b.name for b in plan.l2.buffers}
    assert plan.tilings["a"].placement.output_l3 and plan.tilings["d"].placement.inputs_l3 == (True, "z" in plan.tensors_l3)
    assert "out" not in plan.tensors_l3


def test_a_roomy_l2_keeps_everything_whole_and_resident() -> None:
    layers = [(f"l{i}", g, TileSizes(1, g.w_out, 4), 10**5) for i, g in enumerate(LAYERS[:3])]
    layers[1] = ("l1", LayerGeometry("depthwise", 9, 4, 24, 24, 3, 3, (1, 1), (1, 1, 1, 1), requant_bits=32),
                 TileSizes(1, 4, 4), 10**5)
    layers[2] = ("l2", LayerGeometry("pointwise", 9, 4, 24, 40, requant_bits=32), TileSizes(1, 4, 4), 10**5)
    plan = plan_l3(chain_program(layers[1:]), 512_000)
    assert all(t.untiled for t in plan.tilings.values())
    assert set(plan.modes.values()) == {"resident"} and plan.l3_read == 0


def test_a_program_that_cannot_fit_is_a_one_line_error() -> None:
    g = LayerGeometry("pointwise", 64, 64, 32, 64, requant_bits=32, name="p")
    program = chain_program([("p", g, TileSizes(8, 64, 64), 10**6)])
    with pytest.raises(DoryError) as error:
        plan_l3(program, 200_000)  # network input and output alone are 393,216 B
    assert "'p'" in str(error.value) and "\n" not in str(error.value)


def _mobilenet_program(width: float, resolution: int) -> Program:
    """MobileNetV1 convolutions with simple L1 tilings (one output row, <= 16 channels)."""
    layers = []
    for spec in layer_table(MobileNetConfig(width=width, resolution=resolution)):
        kind = "depthwise" if spec.group > 1 else None
        if kind:
            g = LayerGeometry(kind, spec.in_hw, spec.in_hw, spec.cin, spec.cout, 3, 3,
                              (spec.stride,) * 2, (1,) * 4, requant_bits=32, name=spec.name)
        else:
            g = conv_layer(spec.name, spec.in_hw, spec.in_hw, spec.cin, spec.cout, spec.kernel,
                           stride=spec.stride, pad=spec.pad, requant_bits=32)
        layers.append((spec.name, g, TileSizes(1, g.w_out, min(16, g.cout)), g.macs // 10))
    fc = LayerGeometry("linear", 1, 1, layers[-1][1].cout, 1000, requant_bits=32, name="fc")
    layers.append(("fc", fc, TileSizes(1, 1, 16), fc.macs // 4))
    return chain_program(layers)


@pytest.mark.parametrize("width, resolution", [(1.0, 128), (0.25, 224)])
def test_mobilenet_fits_a_tight_l2(width: float, resolution: int) -> None:
    program = _mobilenet_program(width, resolution)
    budget = 512_000 - 150_000
    plan = plan_l3(program, budget, upgrades=8)
    assert plan.l2.peak <= budget
    weights = sum(param_bytes(s.geometry) for s in program.steps)
    resident = sum(param_bytes(s.geometry) for s in program.steps if plan.modes[s.name] == "resident")
    reread = sum(t.l3_read for t in plan.tilings.values()) - weights
    assert plan.l3_read == weights - resident + reread
    if width == 1.0:
        assert plan.modes["block13.pw"] == "stream" and plan.modes["fc"] == "stream"
