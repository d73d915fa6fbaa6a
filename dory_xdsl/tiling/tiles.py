"""Pure tile enumeration: from a layer and its tile sizes to tiles, L1 buffers and DMA commands.

This module is the single source of truth for what a tiling *means*; the Z3 model
(`dory_xdsl.tiling.tiling_model`) builds its constraints from the same per-axis statistics and the same
buffer formula (`l1_buffer_specs`, generic over plain ints and solver terms), and the lowering
pass emits exactly the tiles, buffers and copies listed here.

Tiling scheme
- Three tiled axes of the *output*: rows (h), columns (w) and output channels (c). Input
  channels are never tiled independently: no 8-bit PULP-NN kernel accumulates partial sums, so
  conv/linear read all `cin` channels for every tile, and depthwise/pooling/add tie the input
  channel tile to the output one.
- Loop order, outermost first: c, h, w. Weights, bias, k and lambda are fetched once per channel
  tile; the input tile once per tile, except for conv/linear layers whose input tile never changes
  (a single spatial tile), which fetch it once.
- Per-tile padding: the output range [o0, o1) of an axis needs input [o0*s - pad_lo,
  (o1-1)*s - pad_lo + K) (K the dilation-expanded kernel extent); the part outside the tensor is
  the tile's padding on that side. Interior tiles get no padding.
- Symmetric padding rule (depthwise and avgpool kernels): on an axis where the tile's padding is
  not `(0, 0)` or `(K//2, K//2)`, the padding is *materialised*: the L1 input tile includes the
  zero rows/columns (`Tile.zeros`, which the lowering must clear before the DMA) and the kernel
  is called with no padding on that axis. The depthwise kernel gives wrong pixels otherwise.
- Depthwise reads its input tile as CHW and may read 2 B past its end. The DMA moves the fetched
  HWC region densely into `in` (a few long lines, not one 1-byte-line gather per channel); the
  cluster cores then transpose it into `in_chw` (the zero rows/columns of the symmetric-padding
  rule included), which gets `target.depthwise_input_slack` extra bytes. Both have one copy: the
  transposition frees `in` for the next tile's DMA before the kernel runs.

L1 buffers (bytes per copy; every copy starts `target.l1_alignment`-aligned):
  in (in2 for add)   l1_rows * l1_cols * cin_tile * act_bytes
  in_chw             the same + slack (depthwise only; single copy, as its `in`)
  out                rows * cols * c * out_bytes
  weights            c * weights_per_channel * weight_bytes
  bias, k, lambda    c * bias_bytes, c * requant_bytes each (when present)
  im2col             2 * cin * Kh * Kw * cores  (conv kernel only; single copy)
  bufferC            cores * (Kw * (in_rows + pad_t + pad_b) + Kw)  (+ cores * (4*ceil(Kw/4) - Kw)
                     for the less-than-4-weights variant; depthwise only; single copy)
Copies: with double buffering, 2 copies of a buffer whose content changes between tiles, else 1
(no second copy for weights when there is one channel tile, nor for a stationary input, nor for
anything when the layer is a single tile).

DMA splitting (decided here, used by the lowering): a copy between an L2 tensor region and a
dense L1 tile is reduced to contiguous *lines* (adjacent dimensions merged when both sides are
contiguous). Lines of the next dimension are grouped into 2-D commands (L2 side strided, L1
contiguous) when line < 32,768 and stride < 32,768, as many lines per command as fit 65,535 B;
otherwise each line is a 1-D command, and a line of 32,768 B or more (the 1-D command limit) is
cut into 32,767 B chunks. Remaining dimensions become loops. Hence every tile shape is reachable within the DMA
limits: the limits never constrain the tile search, they only add commands.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import DEPTHWISE_LESS_4, DmaLimits, Target

SYMMETRIC_PAD_KINDS = ("depthwise", "avgpool")
DEPTHWISE_CHW = "in_chw"  # the depthwise kernel's CHW input, transposed in L1 from the fetched HWC tile


# ----------------------------------------------------------------------------- one axis


@dataclass(frozen=True)
class Span:
    """One tile along one axis: output range, fetched input range, padding."""

    out_start: int
    out_stop: int
    in_start: int  # fetched input range, inside the tensor
    in_stop: int
    pad_lo: int  # padding the kernel applies
    pad_hi: int
    zero_lo: int  # zero rows/columns materialised in L1 (symmetric-padding rule)
    zero_hi: int

    @property
    def size(self) -> int:
        return self.out_stop - self.out_start

    @property
    def fetched(self) -> int:
        return self.in_stop - self.in_start

    @property
    def l1_extent(self) -> int:
        return self.fetched + self.zero_lo + self.zero_hi

    @property
    def window_extent(self) -> int:
        """Extent the kernel sees including its own padding."""
        return self.l1_extent + self.pad_lo + self.pad_hi


def axis_spans(out_size: int, in_size: int, tile: int, kernel: int, stride: int,
               pad_lo: int, symmetric: bool) -> list[Span]:
    """Split an output axis into tiles of `tile` (the last may be shorter)."""
    spans = []
    for o0 in range(0, out_size, tile):
        o1 = min(out_size, o0 + tile)
        lo = o0 * stride - pad_lo
        hi = (o1 - 1) * stride - pad_lo + kernel
        p_lo, p_hi = max(0, -lo), max(0, hi - in_size)
        i0, i1 = max(0, lo), min(in_size, hi)
        i1 = max(i0, i1)
        z_lo = z_hi = 0
        if symmetric and not (p_lo == p_hi and p_lo in (0, kernel // 2)):
            z_lo, z_hi, p_lo, p_hi = p_lo, p_hi, 0, 0
        spans.append(Span(o0, o1, i0, i1, p_lo, p_hi, z_lo, z_hi))
    return spans


def channel_spans(channels: int, tile: int) -> list[Span]:
    return [Span(c0, min(channels, c0 + tile), c0, min(channels, c0 + tile), 0, 0, 0, 0)
            for c0 in range(0, channels, tile)]


AXES = ("h", "w", "c")


def spans_for(g: LayerGeometry, axis: str, tile: int) -> list[Span]:
    symmetric = g.kind in SYMMETRIC_PAD_KINDS
    if axis == "h":
        return axis_spans(g.h_out, g.h, tile, g.kh_eff, g.stride[0], g.pads[0], symmetric)
    if axis == "w":
        return axis_spans(g.w_out, g.w, tile, g.kw_eff, g.stride[1], g.pads[1], symmetric)
    return channel_spans(g.cout, tile)


def axis_extent(g: LayerGeometry, axis: str) -> int:
    return {"h": g.h_out, "w": g.w_out, "c": g.cout}[axis]


@dataclass(frozen=True)
class AxisStats:
    """What the memory and cost formulas need to know about one axis for one tile size."""

    tile: int
    count: int
    l1_extent: int  # max input extent held in L1 (zeros included)
    window_extent: int  # max input extent seen by the kernel (its padding included)
    fetched: int  # input extent fetched over all tiles (halos counted per tile)
    rounds: int  # sum over tiles of ceil(size / cores): parallel rounds if split on this axis


def axis_stats(g: LayerGeometry, axis: str, tile: int, cores: int) -> AxisStats:
    spans = spans_for(g, axis, tile)
    return AxisStats(
        tile=tile,
        count=len(spans),
        l1_extent=max(s.l1_extent for s in spans),
        window_extent=max(s.window_extent for s in spans),
        fetched=sum(s.fetched for s in spans),
        rounds=sum(-(-s.size // cores) for s in spans),
    )


# ----------------------------------------------------------------------------- L1 buffers


class Arith(Protocol):
    """Arithmetic the buffer formula needs; implemented for ints here and for Z3 terms."""

    def all_one(self, *xs: Any) -> Any: ...
    def ite(self, cond: Any, a: Any, b: Any) -> Any: ...
    def align(self, x: Any, alignment: int) -> Any: ...


class IntArith:
    @staticmethod
    def all_one(*xs: int) -> bool:
        return all(x == 1 for x in xs)

    @staticmethod
    def ite(cond: bool, a: int, b: int) -> int:
        return a if cond else b

    @staticmethod
    def align(x: int, alignment: int) -> int:
        return -(-x // alignment) * alignment


@dataclass(frozen=True)
class BufferSpec:
    """One L1 buffer: `size` bytes per copy; `single` is true when one copy suffices."""

    name: str
    size: Any
    single: Any


def l1_buffer_specs(g: LayerGeometry, target: Target, h: Any, w: Any, c: Any,
                    ops: Arith) -> list[BufferSpec]:
    """The L1 buffers of a tiling; h, w, c are `AxisStats` or the solver's equivalent."""
    fixed_input = ops.all_one(h.count, w.count, c.count) if g.channels_tied else ops.all_one(h.count, w.count)
    cin_tile = c.tile if g.channels_tied else g.cin
    in_size = h.l1_extent * w.l1_extent * cin_tile * g.act_bytes
    if g.kind == "depthwise":  # HWC as fetched, then transposed to CHW (zeros included) by the cores
        chw = BufferSpec(DEPTHWISE_CHW, in_size + target.depthwise_input_slack, True)
        return [BufferSpec("in", in_size, True), chw, *_output_and_parameter_specs(g, target, h, w, c, ops)]
    specs = [BufferSpec("in", in_size, fixed_input)]
    if g.kind == "add":
        specs.append(BufferSpec("in2", in_size, fixed_input))
    return specs + _output_and_parameter_specs(g, target, h, w, c, ops)


def _output_and_parameter_specs(g: LayerGeometry, target: Target, h: Any, w: Any, c: Any,
                                ops: Arith) -> list[BufferSpec]:
    cores = target.num_cores
    single_tile = ops.all_one(h.count, w.count, c.count)
    one_channel_tile = ops.all_one(c.count)
    specs = [BufferSpec("out", h.tile * w.tile * c.tile * g.out_bytes, single_tile)]
    if g.weights_per_channel:
        specs.append(BufferSpec("weights", c.tile * (g.weights_per_channel * g.weight_bytes),
                                one_channel_tile))
    if g.has_bias:
        specs.append(BufferSpec("bias", c.tile * g.bias_bytes, one_channel_tile))
    if g.requant_bits:
        specs.append(BufferSpec("k", c.tile * g.requant_bytes, one_channel_tile))
        specs.append(BufferSpec("lambda", c.tile * g.requant_bytes, one_channel_tile))
    if g.kernel == "pulp_nn_conv_Ho_parallel":
        specs.append(BufferSpec("im2col", 2 * g.cin * g.kh_eff * g.kw_eff * cores, True))
    if g.kind == "depthwise":
        extra = cores * (4 * -(-g.kw_eff // 4) - g.kw_eff) if g.kernel == DEPTHWISE_LESS_4 else 0
        size = h.window_extent * (cores * g.kw_eff) + (cores * g.kw_eff + extra)
        specs.append(BufferSpec("bufferC", size, True))
    return specs


def l1_total(specs: Sequence[BufferSpec], target: Target, ops: Arith, double_buffer: bool) -> Any:
    """Bytes of L1 used by the buffers (aligned copies)."""
    total: Any = 0
    for spec in specs:
        one = ops.align(spec.size, target.l1_alignment)
        total = total + (ops.ite(spec.single, one, one + one) if double_buffer else one)
    return total


@dataclass(frozen=True)
class TileSizes:
    h: int
    w: int
    c: int


@dataclass(frozen=True)
class L1Buffer:
    name: str
    size: int  # bytes per copy
    offsets: tuple[int, ...]  # one per copy


@dataclass(frozen=True)
class L1Layout:
    buffers: tuple[L1Buffer, ...]
    total: int

    def buffer(self, name: str) -> L1Buffer:
        for b in self.buffers:
            if b.name == name:
                return b
        raise KeyError(name)


def all_axis_stats(g: LayerGeometry, sizes: TileSizes, cores: int) -> tuple[AxisStats, ...]:
    return tuple(axis_stats(g, a, getattr(sizes, a), cores) for a in AXES)


def l1_layout(g: LayerGeometry, sizes: TileSizes, target: Target, double_buffer: bool = True) -> L1Layout:
    """Buffers at fixed, aligned offsets from the start of the layer's L1 area."""
    h, w, c = all_axis_stats(g, sizes, target.num_cores)
    specs = l1_buffer_specs(g, target, h, w, c, IntArith)
    buffers, offset = [], 0
    for spec in specs:
        copies = 1 if (spec.single or not double_buffer) else 2
        step = IntArith.align(spec.size, target.l1_alignment)
        buffers.append(L1Buffer(spec.name, spec.size, tuple(offset + i * step for i in range(copies))))
        offset += copies * step
    total = l1_total(specs, target, IntArith, double_buffer)
    assert total == offset
    return L1Layout(tuple(buffers), total)


# ----------------------------------------------------------------------------- tiles


@dataclass(frozen=True)
class Tile:
    """One tile: output and input ranges as (start, stop) per axis, paddings as (t, l, b, r)."""

    index: tuple[int, int, int]  # (c, h, w) loop indices
    out_h: tuple[int, int]
    out_w: tuple[int, int]
    out_c: tuple[int, int]
    in_h: tuple[int, int]
    in_w: tuple[int, int]
    in_c: tuple[int, int]
    pad: tuple[int, int, int, int]  # kernel padding
    zeros: tuple[int, int, int, int]  # zero rows/columns materialised in the L1 input tile

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return tuple(b - a for a, b in (self.out_h, self.out_w, self.out_c))  # type: ignore[return-value]

    @property
    def in_l1_shape(self) -> tuple[int, int, int]:
        """Input tile in L1 as (rows, cols, channels), zeros included."""
        t, l, b, r = self.zeros
        return (self.in_h[1] - self.in_h[0] + t + b, self.in_w[1] - self.in_w[0] + l + r,
                self.in_c[1] - self.in_c[0])


def enumerate_tiles(g: LayerGeometry, sizes: TileSizes) -> list[Tile]:
    """All tiles in loop order (c outermost, then h, then w)."""
    hs, ws, cs = (spans_for(g, a, getattr(sizes, a)) for a in AXES)
    tiles = []
    for (ic, c), (ih, h), (iw, w) in itertools.product(enumerate(cs), enumerate(hs), enumerate(ws)):
        in_c = (c.in_start, c.in_stop) if g.channels_tied else (0, g.cin)
        tiles.append(Tile(
            index=(ic, ih, iw), out_h=(h.out_start, h.out_stop), out_w=(w.out_start, w.out_stop),
            out_c=(c.out_start, c.out_stop), in_h=(h.in_start, h.in_stop),
            in_w=(w.in_start, w.in_stop), in_c=in_c,
            pad=(h.pad_lo, w.pad_lo, h.pad_hi, w.pad_hi),
            zeros=(h.zero_lo, w.zero_lo, h.zero_hi, w.zero_hi),
        ))
    return tiles


# ----------------------------------------------------------------------------- DMA


@dataclass(frozen=True)
class Transfer:
    """One DMA command. 1-D when `line == size`; else 2-D: `size // line` lines of `line` bytes,
    `stride` bytes apart on the L2 side, contiguous on the L1 side."""

    l2: int  # byte offset in the L2 tensor
    l1: int  # byte offset in the L1 buffer
    size: int
    line: int
    stride: int

    @property
    def is_2d(self) -> bool:
        return self.line != self.size


@dataclass(frozen=True)
class CopyPlan:
    """Nested loops (count, l2_step, l1_step), outermost first, around a body of commands."""

    loops: tuple[tuple[int, int, int], ...]
    body: tuple[Transfer, ...]

    def transfers(self) -> Iterator[Transfer]:
        for idx in itertools.product(*(range(n) for n, _, _ in self.loops)):
            d2 = sum(i * s2 for i, (_, s2, _) in zip(idx, self.loops))
            d1 = sum(i * s1 for i, (_, _, s1) in zip(idx, self.loops))
            for t in self.body:
                yield Transfer(t.l2 + d2, t.l1 + d1, t.size, t.line, t.stride)

    @property
    def num_transfers(self) -> int:
        n = len(self.body)
        for count, _, _ in self.loops:
            n *= count
        return n


def _chunks_1d(l2: int, l1: int, n: int, limit: int) -> list[Transfer]:
    return [Transfer(l2 + k, l1 + k, min(limit, n - k), min(limit, n - k), min(limit, n - k))
            for k in range(0, n, limit)]


def plan_copy(dims: Sequence[tuple[int, int, int]], elem_bytes: int, l2_base: int, l1_base: int,
              limits: DmaLimits) -> CopyPlan:
    """Split the copy of a strided L2 region to/from L1 into legal DMA commands.

    `dims` are (extent, l2_stride, l1_stride) in bytes, outermost first, over elements of
    `elem_bytes` contiguous bytes.
    """
    if any(e == 0 for e, _, _ in dims):
        return CopyPlan((), ())
    merged = [(elem_bytes, 1, 1)]
    for e, s2, s1 in reversed([d for d in dims if d[0] > 1]):
        ie, is2, is1 = merged[0]
        if s2 == ie * is2 and s1 == ie * is1:
            merged[0] = (e * ie, is2, is1)
        else:
            merged.insert(0, (e, s2, s1))
    line = merged.pop()[0]
    body: list[Transfer] = []
    if merged:
        m, s2, s1 = merged[-1]
        per_cmd = min(m, limits.max_bytes // line)
        if s1 == line and line <= limits.max_line and s2 <= limits.max_stride and per_cmd >= 2:
            merged.pop()
            for k in range(0, m, per_cmd):
                r = min(per_cmd, m - k)
                body.append(Transfer(l2_base + k * s2, l1_base + k * line, r * line,
                                     line if r > 1 else r * line, s2 if r > 1 else r * line))
    if not body:
        body = _chunks_1d(l2_base, l1_base, line, limits.max_line_1d)
    return CopyPlan(tuple(merged), tuple(body))


@dataclass(frozen=True)
class Window:
    """The part of an HWC tensor an L2 buffer holds: rows [r0, r1) x all columns x channels
    [c0, c1), stored densely (an L3 -> L2 tile, see `dory_xdsl.tiling.l3_schedule`)."""

    rows: tuple[int, int]
    channels: tuple[int, int]

    @property
    def num_channels(self) -> int:
        return self.channels[1] - self.channels[0]


def input_copy(g: LayerGeometry, tile: Tile, target: Target, window: Window | None = None) -> CopyPlan:
    """L2 input tensor (HWC) -> the tile's L1 input buffer (HWC; depthwise: the fetched region, dense).

    With a `window`, the L2 side is that window of the input tensor (offsets relative to it)."""
    ab = g.act_bytes
    rows, cols, chans = tile.in_l1_shape
    zt, zl, _, _ = tile.zeros
    fh, fw = tile.in_h[1] - tile.in_h[0], tile.in_w[1] - tile.in_w[0]
    r0, c0, cin = (0, 0, g.cin) if window is None else (window.rows[0], window.channels[0], window.num_channels)
    l2_base = (((tile.in_h[0] - r0) * g.w + tile.in_w[0]) * cin + tile.in_c[0] - c0) * ab
    if g.kind == "depthwise":  # the fetched HWC region, dense (transposed to CHW in L1 afterwards)
        dims = [(fh, g.w * cin * ab, fw * chans * ab), (fw, cin * ab, chans * ab), (chans, ab, ab)]
        l1_base = 0
    else:
        dims = [(fh, g.w * cin * ab, cols * chans * ab), (fw, cin * ab, chans * ab), (chans, ab, ab)]
        l1_base = (zt * cols + zl) * chans * ab
    return plan_copy(dims, ab, l2_base, l1_base, target.dma)


def output_copy(g: LayerGeometry, tile: Tile, target: Target, window: Window | None = None) -> CopyPlan:
    """The tile's dense HWC L1 output buffer -> L2 output tensor (HWC), or that `window` of it."""
    ob = g.out_bytes
    rows, cols, chans = tile.out_shape
    r0, c0, cout = (0, 0, g.cout) if window is None else (window.rows[0], window.channels[0], window.num_channels)
    l2_base = (((tile.out_h[0] - r0) * g.w_out + tile.out_w[0]) * cout + tile.out_c[0] - c0) * ob
    dims = [(rows, g.w_out * cout * ob, cols * chans * ob), (cols, cout * ob, chans * ob),
            (chans, ob, ob)]
    return plan_copy(dims, ob, l2_base, 0, target.dma)


def channel_slice_copy(c_range: tuple[int, int], bytes_per_channel: int, target: Target) -> CopyPlan:
    """Weights / bias / k / lambda of output channels [c0, c1): one contiguous L2 slice."""
    c0, c1 = c_range
    return plan_copy([(c1 - c0, bytes_per_channel, bytes_per_channel)], bytes_per_channel,
                     c0 * bytes_per_channel, 0, target.dma)


def parameter_bytes_per_channel(g: LayerGeometry) -> dict[str, int]:
    """Bytes per output channel of each per-channel parameter buffer present."""
    out = {}
    if g.weights_per_channel:
        out["weights"] = g.weights_per_channel * g.weight_bytes
    if g.has_bias:
        out["bias"] = g.bias_bytes
    if g.requant_bits:
        out["k"] = out["lambda"] = g.requant_bytes
    return out
