"""The schedule of one L3-tiled layer: its L2 tiles in order, the L3 <-> L2 requests of each, and
the L1 tiles that run inside it (pure: what the lowering emits for an `l3_tiling.L2Tiling`).

Buffers (L2): for each input that lives in L3 an input *window* buffer, for an output in L3 an
output window buffer, for streamed parameters one chunk buffer per parameter (weights, bias,
k, lambda); each with one copy, or two alternating copies when the layer has several L2 tiles
(sizes: `L2Tiling.buffers`). An input or output that stays in L2 is used in place (window None).

Order of one layer, double-buffered (what `steps` describes and the lowering emits):

    issue the fetches of step 0
    for each step i:
        wait for the fetches of step i; issue the fetches of step i + 1 (into the other copies)
        run the L1 tiles of step i (their L2 side: the window copies of step i)
        if the output is in L3: wait for the write of step i - 1, issue the write of step i
    wait for the last write

A fetch is issued only when a tile needs a window or chunk different from the one its buffer
copy was last given (`l3_tiling` counts the same traffic). L3 requests: a window of all channels
is one contiguous (1-D) request; a channel window is one 2-D request (lines of the window's
channels, the tensor's pixel pitch apart in L3, contiguous in L2); a parameter chunk is one
contiguous request per parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from dory_xdsl.tiling.l3_tiling import L2Tile, L2Tiling, l2_tiles
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.tiling.tiles import (
    CopyPlan,
    Tile,
    TileSizes,
    Window,
    channel_slice_copy,
    enumerate_tiles,
    parameter_bytes_per_channel,
)
from dory_xdsl.target import Target


@dataclass(frozen=True)
class L3Transfer:
    """One L3 request of `size` bytes between L3 byte offset `l3` (in the tensor or parameter)
    and byte offset `l2` in the L2 buffer. 1-D when `line == size`; else `size // line` lines of
    `line` bytes, `stride` bytes apart in L3, contiguous in L2."""

    l3: int
    l2: int
    size: int
    line: int
    stride: int

    @property
    def is_2d(self) -> bool:
        return self.line != self.size


@dataclass(frozen=True)
class Fetch:
    """An L3 -> L2 request into copy `copy` of buffer `buffer` ("in0", "in1", "weights", ...)."""

    buffer: str
    copy: int
    transfer: L3Transfer


@dataclass(frozen=True)
class L2Step:
    tile: L2Tile
    inputs: tuple[Window | None, ...]  # window of each input in L2 (None: the whole tensor)
    input_copies: tuple[int, ...]  # which copy of each input window buffer holds it
    output: Window | None
    output_copy: int
    chunk: tuple[int, int] | None  # output channels of the parameter chunk (None: whole parameters)
    chunk_copy: int
    fetches: tuple[Fetch, ...]  # issued one step ahead (the fetches of step 0 before the loop)
    write: L3Transfer | None  # output window -> L3, after the L1 tiles
    l1_tiles: tuple[Tile, ...]


def window_transfer(window: Window, h: int, w: int, c: int, elem_bytes: int, l2: int = 0) -> L3Transfer:
    """The L3 request of a window of an (h, w, c) HWC tensor."""
    (r0, r1), (c0, c1) = window.rows, window.channels
    if (c0, c1) == (0, c):
        size = (r1 - r0) * w * c * elem_bytes
        return L3Transfer(r0 * w * c * elem_bytes, l2, size, size, size)
    line = (c1 - c0) * elem_bytes
    return L3Transfer((r0 * w * c + c0) * elem_bytes, l2, (r1 - r0) * w * line, line, c * elem_bytes)


def steps(g: LayerGeometry, l1: TileSizes, tiling: L2Tiling) -> list[L2Step]:
    """The L2 tiles of the layer with everything they move (see the module docstring)."""
    tiles = l2_tiles(g, tiling.rows, tiling.channels, tiling.order)
    streamed = tiling.counts[1] > 1
    params = parameter_bytes_per_channel(g)
    l1_tiles = enumerate_tiles(g, l1)
    held: dict[tuple[str, int], object] = {}  # (buffer, copy) -> what it holds
    uses = {name: 0 for name in ("in0", "in1", "out", "chunk")}
    out: list[L2Step] = []

    def place(buffer: str, key: object) -> tuple[int, bool]:
        """The copy holding `key` (reused when the previous one does), whether to fetch it."""
        if held.get((buffer, (uses[buffer] - 1) % 2)) == key and uses[buffer]:
            return (uses[buffer] - 1) % 2, False
        copy = uses[buffer] % 2 if len(tiles) > 1 else 0
        uses[buffer] += 1
        held[(buffer, copy)] = key
        return copy, True

    for t in tiles:
        fetches: list[Fetch] = []
        windows: list[Window | None] = []
        copies: list[int] = []
        for i, in_l3 in enumerate(tiling.placement.inputs_l3):
            if not in_l3:
                windows.append(None)
                copies.append(0)
                continue
            window = Window(t.in_rows, t.in_channels)
            copy, fetch = place(f"in{i}", window)
            windows.append(window)
            copies.append(copy)
            if fetch:
                fetches.append(Fetch(f"in{i}", copy, window_transfer(window, g.h, g.w, g.cin, g.act_bytes)))
        chunk, chunk_copy = None, 0
        if streamed:
            chunk = t.out_channels
            chunk_copy, fetch = place("chunk", chunk)
            if fetch:
                for name, per_channel in params.items():
                    size = (chunk[1] - chunk[0]) * per_channel
                    fetches.append(Fetch(name, chunk_copy, L3Transfer(chunk[0] * per_channel, 0, size, size, size)))
        output, out_copy, write = None, 0, None
        if tiling.placement.output_l3:
            output = Window(t.out_rows, t.out_channels)
            out_copy = uses["out"] % 2 if len(tiles) > 1 else 0
            uses["out"] += 1
            write = window_transfer(output, g.h_out, g.w_out, g.cout, g.out_bytes)
        inside = tuple(x for x in l1_tiles if t.out_rows[0] <= x.out_h[0] and x.out_h[1] <= t.out_rows[1]
                       and t.out_channels[0] <= x.out_c[0] and x.out_c[1] <= t.out_channels[1])
        out.append(L2Step(t, tuple(windows), tuple(copies), output, out_copy, chunk, chunk_copy,
                          tuple(fetches), write, inside))
    return out


def chunk_copy(tile: Tile, chunk: tuple[int, int] | None, bytes_per_channel: int, target: Target) -> CopyPlan:
    """L2 -> L1 copy of a parameter's slice for an L1 tile: from the whole parameter, or from the
    streamed chunk holding output channels `chunk`."""
    c0 = 0 if chunk is None else chunk[0]
    return channel_slice_copy((tile.out_c[0] - c0, tile.out_c[1] - c0), bytes_per_channel, target)
