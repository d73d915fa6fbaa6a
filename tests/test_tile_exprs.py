"""Tile-index expressions (no IR): on random layers and tile sizes they give exactly the tiles
of `tiles.enumerate_tiles`, and their one-shape-for-all-tiles DMA plans move exactly the bytes of
`tiles.input_copy` / `output_copy` / `channel_slice_copy` on every tile, within the limits."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tiles import layer_and_sizes

from dory_xdsl.errors import DoryError
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import GAP8, DmaLimits
from dory_xdsl.tiling.tile_exprs import (
    SymbolicCopy,
    TileSpace,
    channel_slice_copy,
    check_against_tiles,
    copy_plan,
    input_copy,
    output_copy,
    tile_exprs,
)
from dory_xdsl.tiling.tiles import (
    CopyPlan,
    TileSizes,
    enumerate_tiles,
    parameter_bytes_per_channel,
    spans_for,
)
from dory_xdsl.tiling.tiles import channel_slice_copy as tile_slice_copy
from dory_xdsl.tiling.tiles import input_copy as tile_input_copy
from dory_xdsl.tiling.tiles import output_copy as tile_output_copy


def _counts(g: LayerGeometry, sizes: TileSizes) -> tuple[int, int, int]:
    return tuple(len(spans_for(g, a, getattr(sizes, a))) for a in ("h", "w", "c"))  # type: ignore[return-value]


def symbolic_bytes(plan: SymbolicCopy | None, t: int, limits: DmaLimits) -> tuple[list[tuple[int, int]], int]:
    """(L2 byte, L1 byte) pairs the plan moves on tile t, and its number of commands."""
    if plan is None or (plan.guard is not None and not plan.guard.at(t)):
        return [], 0
    cmd = plan.command
    pairs, commands = [], 0
    for idx in itertools.product(*(range(loop.count.at(t)) for loop in plan.loops)):
        l2 = cmd.l2.at(t) + sum(i * loop.l2_step for i, loop in zip(idx, plan.loops))
        l1 = cmd.l1.at(t) + sum(i * loop.l1_step.at(t) for i, loop in zip(idx, plan.loops))
        size = cmd.size.at(t)
        line, stride = (cmd.line.at(t), cmd.stride) if cmd.two_d else (size, size)
        assert 1 <= size <= limits.max_bytes
        if cmd.two_d:
            assert 1 <= line <= limits.max_line and 1 <= stride <= limits.max_stride and size % line == 0
        commands += 1
        for k in range(size // line):
            pairs += [(l2 + k * stride + b, l1 + k * line + b) for b in range(line)]
    return pairs, commands


def plan_bytes(plan: CopyPlan) -> list[tuple[int, int]]:
    pairs = []
    for tr in plan.transfers():
        stride = tr.stride if tr.is_2d else tr.size
        for k in range(tr.size // tr.line):
            pairs += [(tr.l2 + k * stride + b, tr.l1 + k * tr.line + b) for b in range(tr.line)]
    return pairs


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMITS = [DmaLimits(), DmaLimits(max_bytes=4096, max_line=7, max_stride=9), DmaLimits(max_bytes=200)]


@SETTINGS
@given(case=layer_and_sizes(), limits=st.sampled_from(LIMITS))
def test_expressions_give_the_tiles_and_their_copies(case, limits):
    g, sizes = case
    tiles = enumerate_tiles(g, sizes)
    e = tile_exprs(g, (sizes.h, sizes.w, sizes.c), _counts(g, sizes))
    check_against_tiles(e, tiles)
    try:
        plans = {"in": input_copy(g, e, limits), "out": output_copy(g, e, limits)}
        for name, bpc in parameter_bytes_per_channel(g).items():
            plans[name] = channel_slice_copy(e, name, bpc, limits, g.name)
    except DoryError as error:
        assert "exceeds" in str(error) and limits.max_bytes < 65_535
        return
    for t, tile in enumerate(tiles):
        target = replace(GAP8, dma=limits)
        expected = {"in": tile_input_copy(g, tile, target), "out": tile_output_copy(g, tile, target)}
        for name, bpc in parameter_bytes_per_channel(g).items():
            expected[name] = tile_slice_copy(tile.out_c, bpc, target)
        for name, plan in plans.items():
            got, commands = symbolic_bytes(plan, t, limits)
            assert sorted(got) == sorted(plan_bytes(expected[name])), (name, t)
            assert len(set(p[1] for p in got)) == len(got)  # no L1 byte written twice


def test_folding_keeps_expressions_small():
    space = TileSpace(6)
    t = space.t
    assert (t % 6) is t  # t < 6 on every tile
    assert space.minimum(t * 3, 100) is space.binary("mul", t, 3)
    assert ((t * 2) * 3) is t * 6
    assert ((t + 4) - 6) is t - 2
    assert space.maximum(t - 10, 0).is_const and space.maximum(t - 10, 0).value == 0
    border = space.minimum(t * 4 + 4, 22) - t * 4  # tile size 4 over 22: 5 x 4, then 2
    assert list(border.values) == [4, 4, 4, 4, 4, 2]
    assert space.select(space.eq(t, 0), 1, 0) is not None and space.eq(t, 7).is_const


@pytest.mark.parametrize("tile", [1, 2, 3, 5, 8])
def test_row_tiles_of_a_padded_conv(tile):
    """3x3 conv, pad 1, 8 rows: the expressions' per-tile padding and input rows."""
    g = LayerGeometry("conv", 8, 4, 2, 2, 3, 3, (1, 1), (1, 1, 1, 1))
    sizes = TileSizes(tile, 4, 2)
    e = tile_exprs(g, (tile, 4, 2), _counts(g, sizes))
    n = e.space.n
    assert n == -(-8 // tile)
    assert [e.h.pad_lo.at(t) for t in range(n)] == [1] + [0] * (n - 1)
    assert [e.h.pad_hi.at(t) for t in range(n)] == [0] * (n - 1) + [1]
    assert sum(e.h.size.at(t) for t in range(n)) == 8


def test_contiguous_lines_stay_below_the_1d_command_limit():
    """A contiguous copy of 32,768 B or more is not one 1-D command (the MCHAN's limit): 40 weight
    slices of 1,024 B become one 2-D command of 1,024 B lines; 20 of them stay one 1-D command."""
    space = TileSpace(2)
    channels = space.select(space.eq(space.t, 0), 40, 20)
    plan = copy_plan([(channels, 1024, space.const(1024))], 1024, space.t * 40_960, space.const(0), DmaLimits(), "w")
    assert plan.loops == () and plan.command.two_d
    assert (plan.command.line.value, plan.command.stride, list(plan.command.size.values)) == (1024, 1024, [40_960, 20_480])
    small = copy_plan([(space.const(20), 1024, space.const(1024))], 1024, space.const(0), space.const(0), DmaLimits(), "w")
    assert not small.command.two_d and small.command.size.value == 20_480
