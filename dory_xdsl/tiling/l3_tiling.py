"""The L3 -> L2 level of the tiling model for one layer (pure: no IR; Z3 only to prove the choice).

What it decides
- An *L2 tile* of a layer is a block of `rows` output rows (full width) x `channels` output
  channels. Tiling by rows, by channels, or by both in the same layer (DORY allows one or the
  other, never both). The L2 tiles run in `order` "channels" (channel tiles outermost: a weight
  chunk is fetched once, input windows are re-fetched per channel tile) or "rows" (input windows
  fetched once, weight chunks re-fetched per row tile); within an L2 tile, the layer's L1 tile
  loop runs unchanged.
- Weights (and bias, k, lambda) are copied L3 -> L2 per channel tile: with one channel tile
  the whole parameter set once before the layer ("whole"), otherwise in chunks of `channels`
  output channels, double-buffered ("stream": the next chunk is read while the current one is
  computed).
- Each activation the layer reads or writes is either a whole tensor in L2 (the L1 DMA reads
  or writes it in place) or lives in L3 (`LayerPlacement`): then the layer holds a *window* of
  it in L2 (the input rows/channels the L2 tile needs, halo included; the L2 tile's output),
  double-buffered when there is more than one L2 tile.

Nesting with L2 -> L1 (why the L1 tiling stays valid)
The L1 tiling of the whole layer is chosen first (the Z3 model, `dory_xdsl.tiling.tiling_model`); an
L2 tile is a union of whole L1 tiles: `rows` is a multiple of the L1 row tile (or all rows),
`channels` a multiple of the L1 channel tile (or all channels), width is never cut. So every L1
tile of the layer, with its own padding and halo, lies inside exactly one L2 tile: the L2 tile
is the "layer" its L1 tile loop runs over, with L2 addresses relative to the windows. No L1
tile changes, hence the L1 footprint and the L2 <-> L1 cycles of the layer are those of its L1
tiling. The L2 tiles of a layer form a small domain (at most row-tile count x channel-tile
count x 2 orders), so the choice is an exact exhaustive search (`best_tiling`), then proved
optimal for the cost model below by Z3 over the same candidate table (`dory_xdsl.tiling.l3_tiling_proof`:
the chosen tile fits with its cycles, no candidate fits with fewer: unsat; deterministic
resource limit; `L2Tiling.proved`). Z3 finding a better candidate raises AssertionError.

Cost model (modelled cycles, same style as the L1 model)
- L3 transfers: `ceil(bytes / L3Model.bytes_per_cycle) + L3Model.latency_cycles` per request
  (one request per window, weight chunk or output write; strided channel windows are one 2-D
  request). Traffic is counted exactly by walking the L2 tiles in order: a window or chunk is
  read again only when it differs from the one the previous tile used.
- One L2 tile: first reads + compute + last write (nothing overlaps). Several: double-buffered
  pipeline `max(L3 cycles, compute) + first reads + last write + tiles * tile_overhead`.
- `compute` is the layer's L1-level modelled cycles (`TilingResult.cycles`).

L2 footprint (`L2Tiling.buffers`, bytes, each rounded up to the planner's alignment): windows
(input per input, output), parameter buffers (whole: one copy of each; stream: two chunks of
each), plus the whole tensors of the activations that stay in L2 (`tensor_bytes`, counted by
the network planner as tensors, not as this layer's buffers).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from dory_xdsl.tiling.l3_tiling_proof import prove_choice
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.tiling.tiles import TileSizes, axis_spans, parameter_bytes_per_channel

ORDERS = ("channels", "rows")


@dataclass(frozen=True)
class L3Model:
    """Cost numbers of the L3 (HyperRAM, read by the cluster through the micro-DMA), and which
    L2 tiles the lowering can realise.

    Model numbers, not measured silicon: the HyperBus moves about 1 B per cluster cycle at
    100-175 MHz; a request costs a fixed set-up latency.
    """

    bytes_per_cycle: float = 1.0
    latency_cycles: int = 100
    tile_overhead_cycles: int = 200  # per L2 tile: request programming, waits, loop
    lowered_only: bool = False
    """Only the L2 tiles `convert-qnn-to-dory` realises: a channel tile is exactly one L1 channel
    tile (or all channels); an output in L3 is written whole after the layer (no row tiles); an
    input in L3 is read in windows of one L1 row tile (all columns and channels)."""


@dataclass(frozen=True)
class LayerPlacement:
    """Where the activations of one layer live: True = in L3 (windowed), False = whole in L2."""

    inputs_l3: tuple[bool, ...]
    output_l3: bool

    @staticmethod
    def all_l2(num_inputs: int) -> LayerPlacement:
        return LayerPlacement((False,) * num_inputs, False)


@dataclass(frozen=True)
class L2Tile:
    """One L2 tile: output rows and channels, the input rows and channels it needs."""

    out_rows: tuple[int, int]
    out_channels: tuple[int, int]
    in_rows: tuple[int, int]
    in_channels: tuple[int, int]


@dataclass(frozen=True)
class L2Tiling:
    """The L3 -> L2 schedule of one layer and its modelled cost."""

    rows: int
    channels: int
    order: str
    counts: tuple[int, int]  # L2 tiles along (rows, channels)
    placement: LayerPlacement
    buffers: tuple[tuple[str, int], ...]  # (name, bytes) of this layer's L2 buffers
    l3_read: int  # bytes read from L3 by the layer (windows and parameters)
    l3_write: int  # bytes written to L3 (output windows)
    l3_requests: int
    cycles: int
    proved: bool = field(default=False, compare=False)  # Z3 proved it optimal (`best_tiling` only)
    z3_work: int = field(default=0, compare=False)  # Z3 resource units of that proof (deterministic)
    solve_seconds: float = field(default=0.0, compare=False)  # wall time of the proof (reporting only)

    @property
    def num_tiles(self) -> int:
        return self.counts[0] * self.counts[1]

    @property
    def weights_mode(self) -> str:
        return "whole" if self.counts[1] == 1 else "stream"

    @property
    def l2_bytes(self) -> int:
        return sum(size for _, size in self.buffers)

    @property
    def untiled(self) -> bool:
        return self.num_tiles == 1


def align_up(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def row_options(g: LayerGeometry, l1: TileSizes) -> list[int]:
    """L2 row-tile sizes that are unions of whole L1 tiles: multiples of the L1 row tile."""
    return sorted({min(g.h_out, k * l1.h) for k in range(1, -(-g.h_out // l1.h) + 1)})


def channel_options(g: LayerGeometry, l1: TileSizes) -> list[int]:
    return sorted({min(g.cout, k * l1.c) for k in range(1, -(-g.cout // l1.c) + 1)})


def l2_tiles(g: LayerGeometry, rows: int, channels: int, order: str) -> list[L2Tile]:
    """The L2 tiles of a layer in execution order."""
    spans = axis_spans(g.h_out, g.h, rows, g.kh_eff, g.stride[0], g.pads[0], symmetric=False)
    chans = [(c0, min(g.cout, c0 + channels)) for c0 in range(0, g.cout, channels)]
    pairs = ([(s, c) for c in chans for s in spans] if order == "channels"
             else [(s, c) for s in spans for c in chans])
    return [L2Tile((s.out_start, s.out_stop), c, (s.in_start, s.in_stop),
                   c if g.channels_tied else (0, g.cin)) for s, c in pairs]


def tensor_bytes(g: LayerGeometry) -> tuple[list[int], int]:
    """Bytes of the whole input tensors and of the output tensor."""
    return [g.h * g.w * g.cin * g.act_bytes] * g.num_inputs, g.output_elements * g.out_bytes


def evaluate(g: LayerGeometry, rows: int, channels: int, order: str, placement: LayerPlacement,
             compute_cycles: int, model: L3Model = L3Model(), alignment: int = 8,
             hidden_cycles: int = 0) -> L2Tiling:
    """Footprint, L3 traffic and modelled cycles of one L3 -> L2 tiling.

    `hidden_cycles`: with one channel tile the parameters can be prefetched during the previous
    step; that many cycles of their L3 read are then hidden (the network planner decides)."""
    tiles = l2_tiles(g, rows, channels, order)
    n = len(tiles)
    copies = 2 if n > 1 else 1
    params = parameter_bytes_per_channel(g)
    n_chan = -(-g.cout // channels)
    buffers: list[tuple[str, int]] = []
    in_row_bytes = g.w * g.act_bytes
    for i, in_l3 in enumerate(placement.inputs_l3):
        if in_l3:
            size = max((t.in_rows[1] - t.in_rows[0]) * (t.in_channels[1] - t.in_channels[0]) for t in tiles)
            buffers.append((f"in{i}", copies * align_up(size * in_row_bytes, alignment)))
    if placement.output_l3:
        size = max((t.out_rows[1] - t.out_rows[0]) * (t.out_channels[1] - t.out_channels[0]) for t in tiles)
        buffers.append(("out", copies * align_up(size * g.w_out * g.out_bytes, alignment)))
    param_copies = 2 if n_chan > 1 else 1
    for name, per_channel in params.items():
        buffers.append((name, param_copies * align_up(min(channels, g.cout) * per_channel, alignment)))

    reads: list[int] = []  # bytes of each read request, in order
    writes: list[int] = []
    param_reads: list[int] = []  # whole parameters: read once, before the first tile
    first_reads = 0
    last_in: list[tuple | None] = [None] * g.num_inputs
    last_chunk = None
    for t in tiles:
        for i, in_l3 in enumerate(placement.inputs_l3):
            key = (t.in_rows, t.in_channels)
            if in_l3 and key != last_in[i]:
                reads.append((t.in_rows[1] - t.in_rows[0]) * (t.in_channels[1] - t.in_channels[0]) * in_row_bytes)
                last_in[i] = key
        if t.out_channels != last_chunk:
            chunk = [(t.out_channels[1] - t.out_channels[0]) * b for b in params.values()]
            if n_chan == 1:
                param_reads.extend(chunk)
            else:
                reads.extend(chunk)
            last_chunk = t.out_channels
        if placement.output_l3:
            writes.append((t.out_rows[1] - t.out_rows[0]) * (t.out_channels[1] - t.out_channels[0])
                          * g.w_out * g.out_bytes)
        first_reads = first_reads or len(reads)
    requests = len(reads) + len(writes) + len(param_reads)

    def l3_cycles(sizes: Sequence[int]) -> int:
        return math.ceil(sum(sizes) / model.bytes_per_cycle) + len(sizes) * model.latency_cycles

    total_l3 = l3_cycles(reads) + l3_cycles(writes)
    edges = l3_cycles(reads[:first_reads]) + l3_cycles(writes[-1:])
    whole_params = max(0, l3_cycles(param_reads) - hidden_cycles)
    if n == 1:
        cycles = whole_params + total_l3 + compute_cycles
    else:
        cycles = whole_params + max(total_l3, compute_cycles) + edges + n * model.tile_overhead_cycles
    return L2Tiling(rows, channels, order, (-(-g.h_out // rows), n_chan), placement, tuple(buffers),
                    sum(reads) + sum(param_reads), sum(writes), requests, cycles)


@functools.lru_cache(maxsize=1024)
def candidates(g: LayerGeometry, l1: TileSizes, placement: LayerPlacement, compute_cycles: int,
               model: L3Model = L3Model(), alignment: int = 8, hidden_cycles: int = 0) -> tuple[L2Tiling, ...]:
    """Every L3 -> L2 tiling of the layer for this placement, cheapest first (cached).

    Rows are cut only when an activation of the layer lives in L3 (with all activations in L2,
    cutting rows saves no L2: the tensors are whole anyway)."""
    windowed = any(placement.inputs_l3) or placement.output_l3
    rows_opts = row_options(g, l1) if windowed else [g.h_out]
    channel_opts = channel_options(g, l1)
    if model.lowered_only:
        channel_opts = sorted({l1.c, g.cout})
        if any(placement.inputs_l3):
            rows_opts = [] if placement.output_l3 and l1.h < g.h_out else [l1.h]
        elif placement.output_l3:
            rows_opts = [g.h_out]
    out = []
    for rows in rows_opts:
        for channels in channel_opts:
            tiled_both = rows < g.h_out and channels < g.cout
            for order in (ORDERS if tiled_both else ORDERS[:1]):
                out.append(evaluate(g, rows, channels, order, placement, compute_cycles, model, alignment,
                                    hidden_cycles))
    return tuple(sorted(out, key=lambda t: (t.cycles, t.num_tiles, t.l2_bytes, t.order, t.rows, t.channels)))


@functools.lru_cache(maxsize=4096)
def best_tiling(g: LayerGeometry, l1: TileSizes, placement: LayerPlacement, compute_cycles: int,
                allowance: int, model: L3Model = L3Model(), alignment: int = 8,
                hidden_cycles: int = 0) -> L2Tiling | None:
    """The cheapest tiling whose own L2 buffers fit `allowance` bytes (None if none does),
    proved optimal over the candidates by Z3 (`proved`; cached).

    Ties go to fewer tiles, then to the smaller footprint (deterministic)."""
    cands = candidates(g, l1, placement, compute_cycles, model, alignment, hidden_cycles)
    chosen = next((i for i, t in enumerate(cands) if t.l2_bytes <= allowance), None)
    if not cands:
        return None
    proof = prove_choice([t.l2_bytes for t in cands], [t.cycles for t in cands], chosen, allowance,
                         g.describe())
    if chosen is None:
        return None
    return replace(cands[chosen], proved=proof.proved, z3_work=proof.z3_work, solve_seconds=proof.solve_seconds)


def smallest_tiling(g: LayerGeometry, l1: TileSizes, placement: LayerPlacement, compute_cycles: int,
                    model: L3Model = L3Model(), alignment: int = 8) -> L2Tiling | None:
    """The tiling with the smallest own L2 footprint (ties: the cheapest); None when the
    placement has no tiling (`L3Model.lowered_only`: input and output both in L3)."""
    return min(candidates(g, l1, placement, compute_cycles, model, alignment),
               key=lambda t: (t.l2_bytes, t.cycles, t.num_tiles), default=None)
