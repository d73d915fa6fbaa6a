"""The DMA one tiled layer performs per inference, from its tiling alone (no IR).

The copies are those of the tile schedule `convert-qnn-to-dory` emits, each split into commands
by `dory_xdsl.tiles` (`input_copy`, `output_copy`, `channel_slice_copy`):

- tiles in `enumerate_tiles` order (channel tiles outermost, then rows, then columns);
- the per-channel parameters (weights, bias, k, lambda) once per channel tile, L2 -> L1;
- the input tile (both inputs of an add) once per tile, L2 -> L1, or once for the whole layer
  when it is stationary (`stationary_input`);
- the output tile once per tile, L1 -> L2.

Double buffering changes the order of these copies (prefetch), not which ones happen, so the
totals do not depend on it. Zero rows/columns a tile materialises are cleared in L1 without
the DMA and are not counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dory_xdsl.layer_geometry import LayerGeometry
from dory_xdsl.target import Target
from dory_xdsl.tiles import (
    CopyPlan,
    TileSizes,
    channel_slice_copy,
    enumerate_tiles,
    input_copy,
    output_copy,
    parameter_bytes_per_channel,
)

L2_TO_L1 = "l2_to_l1"
L1_TO_L2 = "l1_to_l2"
PARAMETER_ORDER = ("weights", "bias", "k", "lambda")


@dataclass(frozen=True)
class DmaCounts:
    """Bytes and commands per direction of the cluster DMA."""

    in_bytes: int = 0  # L2 -> L1
    in_commands: int = 0
    out_bytes: int = 0  # L1 -> L2
    out_commands: int = 0

    def __add__(self, other: DmaCounts) -> DmaCounts:
        return DmaCounts(self.in_bytes + other.in_bytes, self.in_commands + other.in_commands,
                         self.out_bytes + other.out_bytes, self.out_commands + other.out_commands)

    @property
    def commands(self) -> int:
        return self.in_commands + self.out_commands


def stationary_input(g: LayerGeometry, counts: tuple[int, int, int]) -> bool:
    """Whether the input tile is fetched once for the layer: a single tile, or a conv/linear
    layer (all input channels in every tile) with one spatial tile (as `tiles.l1_buffer_specs`)."""
    h, w, c = counts
    return h == w == c == 1 or (not g.channels_tied and h == w == 1)


def layer_copies(g: LayerGeometry, sizes: TileSizes, target: Target) -> Iterator[tuple[str, str, CopyPlan]]:
    """(L1 buffer, direction, copy plan) of every copy of the layer's schedule, in order."""
    tiles = enumerate_tiles(g, sizes)
    counts = (len({t.index[1] for t in tiles}), len({t.index[2] for t in tiles}),
              len({t.index[0] for t in tiles}))
    stationary = stationary_input(g, counts)
    per_channel = parameter_bytes_per_channel(g)
    inputs = ("in", "in2") if g.kind == "add" else ("in",)
    channel_tile = None
    for t, tile in enumerate(tiles):
        if tile.index[0] != channel_tile:
            channel_tile = tile.index[0]
            for name in PARAMETER_ORDER:
                if name in per_channel:
                    yield name, L2_TO_L1, channel_slice_copy(tile.out_c, per_channel[name], target)
        if t == 0 or not stationary:
            for name in inputs:
                yield name, L2_TO_L1, input_copy(g, tile, target)
        yield "out", L1_TO_L2, output_copy(g, tile, target)


def plan_bytes(plan: CopyPlan) -> int:
    repeat = 1
    for count, _, _ in plan.loops:
        repeat *= count
    return repeat * sum(t.size for t in plan.body)


def layer_dma(g: LayerGeometry, sizes: TileSizes, target: Target) -> DmaCounts:
    """Total bytes and commands per direction of one execution of the layer."""
    totals = {L2_TO_L1: [0, 0], L1_TO_L2: [0, 0]}
    for _, direction, plan in layer_copies(g, sizes, target):
        totals[direction][0] += plan_bytes(plan)
        totals[direction][1] += plan.num_transfers
    return DmaCounts(*totals[L2_TO_L1], *totals[L1_TO_L2])
