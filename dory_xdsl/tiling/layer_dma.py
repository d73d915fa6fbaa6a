"""The DMA of one tiled layer: the copies of its tile schedule, and their totals (no IR).

`layer_plans` is the single definition of the copies `convert-qnn-to-dory` emits for a layer:
the tile expressions (`dory_xdsl.tiling.tile_exprs`, checked against `tiles.enumerate_tiles`) and one
symbolic command plan per L1 buffer (`tile_exprs.input_copy`, `output_copy`,
`channel_slice_copy`), plus which tiles perform each copy:

- tiles in `enumerate_tiles` order (channel tiles outermost, then rows, then columns);
- the per-channel parameters (weights, bias, k, lambda) on the first tile of every channel tile
  (`starts_channel_tile`), L2 -> L1;
- the input tile (both inputs of an add) on every tile, L2 -> L1, or on tile 0 only when it is
  stationary (`fixed_input`: a single tile, or a conv/linear layer with one spatial tile);
- the output tile on every tile, L1 -> L2;
- an input that lives in L3 (`qnn-l3-tile`) reaches L2 in row windows (`window_tiles`): the input
  rows of a row of tiles, all columns and channels (`window_bytes` from `window_l3`), read
  L3 -> L2 for the first tile of every row of tiles (again for every channel tile), or once for
  tile 0 when the input is stationary.

The lowering builds its loop from `layer_plans`; `layer_dma` sums the same plans' bytes and
commands (`SymbolicCopy.num_commands`) over the same tiles, so the report counts exactly what
the lowered code issues. Double buffering changes the order of the copies (prefetch), not which
ones happen; parameters streamed from L3 reach L1 from an L2 chunk slot with a plan of the same
shape. Zero rows/columns a tile materialises are cleared in L1 without the DMA and are not
counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from dory_xdsl.errors import DoryError
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import DmaLimits, Target
from dory_xdsl.tiling.tile_exprs import (
    Expr,
    SymbolicCopy,
    TileExprs,
    channel_slice_copy,
    check_against_tiles,
    input_copy,
    output_copy,
    tile_exprs,
)
from dory_xdsl.tiling.tiles import TileSizes, enumerate_tiles, l1_layout, parameter_bytes_per_channel

L2_TO_L1 = "l2_to_l1"
L1_TO_L2 = "l1_to_l2"
PARAMETER_ORDER = ("weights", "bias", "k", "lambda")
INPUT_BUFFERS = ("in", "in2")
DMA_QUEUES = "dory.dma_queues"  # layer-function attribute: {channel = command structs of its ring}
L3_QUEUES = "dory.l3_queues"  # layer-function attribute: {L3 channel = most requests pending at once}


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


@dataclass(frozen=True)
class LayerPlans:
    """The tile expressions and DMA plans of one tiled layer's schedule (see the module docstring)."""

    exprs: TileExprs
    inputs: tuple[str, ...]  # the input L1 buffers ("in", and "in2" of an add); one plan for all
    input: SymbolicCopy | None
    output: SymbolicCopy | None
    params: dict[str, SymbolicCopy | None]  # per-channel parameters present, in PARAMETER_ORDER
    fixed_input: bool  # the input tile is fetched once, for tile 0
    transposed_input: bool  # depthwise: the fetched HWC tile is transposed to CHW in L1 by the cores
    starts_channel_tile: Expr  # true on the first tile of a channel tile: its parameters are fetched
    starts_row: Expr  # true on the first tile of a row of tiles: an input in L3 gets its window
    window_l3: Expr  # byte offset in L3 of the tile's input window (an input in L3)
    window_bytes: Expr  # bytes of the tile's input window

    def input_tiles(self) -> range:
        return range(1 if self.fixed_input else self.exprs.space.n)

    def param_tiles(self) -> list[int]:
        return [t for t in range(self.exprs.space.n) if self.starts_channel_tile.at(t)]

    def window_tiles(self) -> list[int]:
        """The tiles whose input window is read from L3 (for an input that lives in L3)."""
        if self.fixed_input:
            return [0]
        return [t for t in range(self.exprs.space.n) if self.starts_row.at(t)]

    def window_reads(self) -> tuple[int, int]:
        """Bytes and requests L3 -> L2 of the windows of one input that lives in L3."""
        tiles = self.window_tiles()
        return sum(self.window_bytes.at(t) for t in tiles), len(tiles)


def tile_counts(g: LayerGeometry, sizes: TileSizes) -> tuple[int, int, int]:
    """Tiles along (h, w, c), as `dory.tiling` records them."""
    return -(-g.h_out // sizes.h), -(-g.w_out // sizes.w), -(-g.cout // sizes.c)


def layer_plans(g: LayerGeometry, sizes: TileSizes, limits: DmaLimits) -> LayerPlans:
    """The schedule's copies of a layer tiled with `sizes` (the lowering's single source)."""
    nh, nw, nc = counts = tile_counts(g, sizes)
    e = tile_exprs(g, (sizes.h, sizes.w, sizes.c), counts)
    check_against_tiles(e, enumerate_tiles(g, sizes))
    n = e.space.n
    per_channel = parameter_bytes_per_channel(g)
    row_bytes = g.w * g.cin * g.act_bytes
    return LayerPlans(
        exprs=e,
        inputs=INPUT_BUFFERS[:g.num_inputs],
        input=input_copy(g, e, limits),
        output=output_copy(g, e, limits),
        params={name: channel_slice_copy(e, name, per_channel[name], limits, g.name)
                for name in PARAMETER_ORDER if name in per_channel},
        fixed_input=n == 1 or (not g.channels_tied and nh == nw == 1),
        transposed_input=g.kind == "depthwise",
        starts_channel_tile=e.space.eq(e.space.t % (nh * nw), 0).named("starts_c_tile"),
        # unnamed: expressions are shared, and a name sticks (the lowering names these when it uses them)
        starts_row=e.space.eq(e.space.t % nw, 0),
        window_l3=e.h.in_start * row_bytes,
        window_bytes=e.h.fetched * row_bytes,
    )


def scheduled_copies(plans: LayerPlans, params: Mapping[str, SymbolicCopy | None] | None = None,
                     ) -> Iterator[tuple[str, str, SymbolicCopy | None, list[int] | range]]:
    """(L1 buffer, direction, plan, tiles performing it) of every copy of the schedule; `params`
    replaces the parameter plans (streamed parameters reach L1 from their L2 chunk slot)."""
    param_tiles = plans.param_tiles()
    for name, plan in (plans.params if params is None else params).items():
        yield name, L2_TO_L1, plan, param_tiles
    for name in plans.inputs:
        yield name, L2_TO_L1, plans.input, plans.input_tiles()
    yield "out", L1_TO_L2, plans.output, range(plans.exprs.space.n)


def layer_dma(g: LayerGeometry, sizes: TileSizes, target: Target, plans: LayerPlans | None = None) -> DmaCounts:
    """Total bytes and commands per direction of one execution of the layer (`plans`: its
    `layer_plans`, when the caller has them)."""
    totals = {L2_TO_L1: [0, 0], L1_TO_L2: [0, 0]}
    plans = plans or layer_plans(g, sizes, target.dma)
    for _, direction, plan, tiles in scheduled_copies(plans):
        if plan is None:
            continue
        for t in tiles:
            commands = plan.num_commands(t)
            totals[direction][0] += commands * plan.command.size.at(t)  # one size for all of a tile's commands
            totals[direction][1] += commands
    return DmaCounts(*totals[L2_TO_L1], *totals[L1_TO_L2])


# ----------------------------------------------------------------------------- outstanding commands


@dataclass(frozen=True)
class DmaQueues:
    """The command structs of a layer's DMA channels and the most commands outstanding at once.

    Every counted command holds one of the MCHAN's `DmaLimits.counters` transfer counters from
    its issue to its wait. Each channel (L1 buffer) issues into a FIFO ring of `capacity[channel]`
    command structs: a command issued with the ring full first waits for the channel's oldest
    one. The capacities share the counters (`queue_capacities`), so at most that many commands
    are ever outstanding; `peak` is the exact most, over the schedule of `schedule_events`."""

    capacity: dict[str, int]
    peak: int
    need: dict[str, int]  # the most commands one copy of the channel issues (ring-free queue size)


def channel_commands(plans: LayerPlans) -> dict[str, list[int]]:
    """Commands each channel issues at each tile (0 where it copies nothing)."""
    n = plans.exprs.space.n
    per_tile: dict[str, list[int]] = {}
    for name, _, plan, tiles in scheduled_copies(plans):
        counts = [0] * n
        if plan is not None:
            for t in tiles:
                counts[t] = plan.num_commands(t)
        per_tile[name] = counts
    return per_tile


def schedule_events(plans: LayerPlans, copies: dict[str, int], double_buffer: bool) -> Iterator[tuple[str, str, int]]:
    """("start", channel, tile) / ("wait", channel, -1) in the order `convert-qnn-to-dory` emits
    them (its docstring's tile schedule); `copies` is the number of L1 copies of each buffer."""
    n = plans.exprs.space.n
    c_count = plans.exprs.counts[2]
    params, inputs = list(plans.params), list(plans.inputs)
    refetch = c_count > 1 and bool(params)
    params_double = refetch and copies.get(params[0], 1) == 2
    input_double = not plans.fixed_input and (copies.get("in", 1) == 2 or (plans.transposed_input and double_buffer))

    def prefetch(t: int, double: bool) -> Iterator[tuple[str, str, int]]:
        fetch_in = not plans.fixed_input and input_double == double
        fetch_params = refetch and params_double == double
        if n == 1 or not (fetch_in or fetch_params) or t + 1 >= n:
            return
        if fetch_in:
            yield from (("start", name, t + 1) for name in inputs)
        if fetch_params and plans.starts_channel_tile.at(t + 1):
            yield from (("start", name, t + 1) for name in params)

    yield from (("start", name, 0) for name in [*params, *inputs])
    for t in range(n):
        yield from (("wait", name, -1) for name in [*inputs, *params])
        yield from prefetch(t, True)
        if copies.get("out", 1) == 1 and n > 1:
            yield "wait", "out", -1
        if copies.get("out", 1) == 2:
            yield "wait", "out", -1
        yield "start", "out", t
        yield from prefetch(t, False)
    yield "wait", "out", -1


def queue_capacities(need: dict[str, int], counters: int) -> dict[str, int]:
    """Ring sizes sharing `counters` command structs: every channel gets what one of its copies
    issues when that fits; otherwise the channels issuing fewest are served first and the rest
    share what is left evenly (water filling). Raises when there are more channels than counters."""
    active = {ch: k for ch, k in need.items() if k > 0}
    if len(active) > counters:
        raise DoryError(f"{len(active)} DMA channels in one layer, the MCHAN has {counters} counters")
    capacity: dict[str, int] = {}
    left = counters
    for i, (ch, k) in enumerate(sorted(active.items(), key=lambda item: (item[1], item[0]))):
        share = left // (len(active) - i)
        capacity[ch] = min(k, share)
        left -= capacity[ch]
    return {ch: capacity[ch] for ch in need if ch in capacity}


def dma_queues(g: LayerGeometry, sizes: TileSizes, target: Target, double_buffer: bool) -> DmaQueues:
    """Ring capacities and the exact peak of outstanding commands of one tiled layer."""
    plans = layer_plans(g, sizes, target.dma)
    per_tile = channel_commands(plans)
    need = {ch: max(counts) for ch, counts in per_tile.items()}
    capacity = queue_capacities(need, target.dma.counters)
    copies = {b.name: len(b.offsets) for b in l1_layout(g, sizes, target, double_buffer).buffers}
    pending = dict.fromkeys(per_tile, 0)
    peak = 0
    for kind, ch, t in schedule_events(plans, copies, double_buffer):
        if kind == "wait":
            pending[ch] = 0
        elif per_tile[ch][t]:
            pending[ch] = min(pending[ch] + per_tile[ch][t], capacity[ch])
            peak = max(peak, sum(pending.values()))
    return DmaQueues(capacity, peak, need)
