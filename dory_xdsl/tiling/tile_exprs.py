"""Per-tile numbers of a tiled layer as integer expressions of the tile index (no IR).

A layer's N tiles are numbered t = 0..N-1 in `dory_xdsl.tiling.tiles.enumerate_tiles` order (channel
tiles outermost, then rows, then columns): t = (tc * nh + th) * nw + tw. Every number that
changes from tile to tile -- output and input ranges, border tile sizes, per-tile padding, the
zero rows/columns of the symmetric-padding rule, DMA offsets and sizes, double-buffer slots --
is an `Expr` over t, built from the same formulas as `tiles.axis_spans` with +, -, *, //, %,
min, max, comparisons and select. The lowering prints them as `arith` ops inside the tile loop.

Every `Expr` carries its values on all N tiles (a numpy vector), which makes folding exact and
simple: an expression with one value on every tile is a constant; a min, max or select equal to
one of its operands on every tile is that operand (`x % n` when x < n, `min(x, n)` when
x <= n, ...); `x + 0`, `x * 1`, `x // 1` are `x`; products and sums with constants are kept
in the form `x * a +- b` (`(x +- a) * b`, `(x +- a) +- b` and `a - (x +- b)` are rewritten), so
`(o1 - 1) * 2 + 2` is `o1 * 2`.
Expressions are hash-consed per `TileSpace`, so equal sub-expressions are one object (the
lowering emits each once). `check_against_tiles` compares the values with `enumerate_tiles`,
so the loop computes exactly the tiles `dory_xdsl.tiling.tiles` defines.

`copy_plan` is the per-tile DMA splitting of `tiles.plan_copy` decided once for all tiles:
dimensions are merged (into contiguous lines of at most `DmaLimits.max_line_1d`, the 1-D
command limit) or grouped into 2-D commands only where that is legal on every tile, so
one command shape (with per-tile sizes) serves the whole loop. It may use a few more commands
than `tiles.plan_copy` on the odd border tile (e.g. a one-row tile that `plan_copy` merges);
the bytes moved are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dory_xdsl.errors import DoryError
from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import DmaLimits
from dory_xdsl.tiling.tiles import SYMMETRIC_PAD_KINDS, Tile

BOOL_OPS = ("lt", "eq", "and", "or")


class Expr:
    """One integer (or boolean) expression of the tile index; see the module docstring."""

    __slots__ = ("space", "op", "args", "values", "name")

    def __init__(self, space: TileSpace, op: str, args: tuple[Expr, ...], values: np.ndarray):
        self.space, self.op, self.args, self.values = space, op, args, values
        self.name: str | None = None

    # ------------------------------------------------------------------ queries

    @property
    def is_const(self) -> bool:
        return self.op == "const"

    @property
    def value(self) -> int:
        """The constant's value (only for constants)."""
        assert self.is_const
        return int(self.values[0])

    @property
    def max(self) -> int:
        return int(self.values.max())

    @property
    def min(self) -> int:
        return int(self.values.min())

    def at(self, t: int) -> int:
        return int(self.values[t])

    def named(self, name: str) -> Expr:
        """Give the expression a name hint (for readable IR and C); the first name sticks."""
        if self.name is None and not self.is_const and self.op != "tile":
            self.name = name
        return self

    # ------------------------------------------------------------------ operators

    def __add__(self, other: Expr | int) -> Expr:
        return self.space.binary("add", self, other)

    def __radd__(self, other: int) -> Expr:
        return self.space.binary("add", other, self)

    def __sub__(self, other: Expr | int) -> Expr:
        return self.space.binary("sub", self, other)

    def __rsub__(self, other: int) -> Expr:
        return self.space.binary("sub", other, self)

    def __mul__(self, other: Expr | int) -> Expr:
        return self.space.binary("mul", self, other)

    def __rmul__(self, other: int) -> Expr:
        return self.space.binary("mul", other, self)

    def __floordiv__(self, other: int) -> Expr:
        return self.space.binary("div", self, other)

    def __mod__(self, other: int) -> Expr:
        return self.space.binary("rem", self, other)

    def __repr__(self) -> str:
        if self.is_const:
            return str(self.value)
        if self.op == "tile":
            return "t"
        return f"{self.op}({', '.join(map(repr, self.args))})"


_NUMPY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.floor_divide, "rem": np.mod,
    "min": np.minimum, "max": np.maximum, "lt": np.less, "eq": np.equal, "and": np.logical_and,
    "or": np.logical_or,
}


class TileSpace:
    """The N tiles of one layer; makes (and hash-conses) the expressions over them."""

    def __init__(self, n: int):
        self.n = n
        self._memo: dict[tuple, Expr] = {}
        self.t = Expr(self, "tile", (), np.arange(n, dtype=np.int64))

    def const(self, value: int) -> Expr:
        key = ("const", int(value))
        if key not in self._memo:
            self._memo[key] = Expr(self, "const", (), np.full(self.n, int(value), dtype=np.int64))
        return self._memo[key]

    def lift(self, x: Expr | int) -> Expr:
        return x if isinstance(x, Expr) else self.const(x)

    def _node(self, op: str, args: tuple[Expr, ...], values: np.ndarray) -> Expr:
        values = values.astype(np.int64)
        if self.n and (values == values[0]).all():
            return self.const(int(values[0]))
        if op not in ("lt", "eq"):  # a result equal to an operand on every tile is that operand
            for arg in (args[1:] if op == "select" else args):
                if np.array_equal(arg.values, values):
                    return arg
        key = (op, tuple(id(a) for a in args))
        if key not in self._memo:
            self._memo[key] = Expr(self, op, args, values)
        return self._memo[key]

    def binary(self, op: str, a: Expr | int, b: Expr | int) -> Expr:
        a, b = self.lift(a), self.lift(b)
        if b.is_const and ((op in ("add", "sub") and b.value == 0) or (op in ("mul", "div") and b.value == 1)):
            return a
        if a.is_const and ((op == "add" and a.value == 0) or (op == "mul" and a.value == 1)):
            return b
        if op == "mul" and b.is_const and a.op in ("mul", "add", "sub") and a.args[1].is_const:
            if a.op == "mul":
                return self.binary("mul", a.args[0], a.args[1].value * b.value)
            return self.binary(a.op, a.args[0] * b, a.args[1].value * b.value)  # (x +- c) * s
        if op == "sub" and a.is_const and b.op in ("add", "sub") and b.args[1].is_const:
            offset = -b.args[1].value if b.op == "add" else b.args[1].value  # a - (x +- c)
            return self.binary("sub", a.value + offset, b.args[0])
        if op in ("add", "sub") and b.is_const and a.op in ("add", "sub") and a.args[1].is_const:
            offset = (a.args[1].value if a.op == "add" else -a.args[1].value) + (b.value if op == "add" else -b.value)
            return self.binary("add" if offset >= 0 else "sub", a.args[0], abs(offset))
        if op in ("and", "or") and (a.is_const or b.is_const):
            const, other = (a, b) if a.is_const else (b, a)
            if bool(const.value) == (op == "and"):
                return other
        return self._node(op, (a, b), _NUMPY[op](a.values, b.values))

    def minimum(self, a: Expr | int, b: Expr | int) -> Expr:
        return self.binary("min", a, b)

    def maximum(self, a: Expr | int, b: Expr | int) -> Expr:
        return self.binary("max", a, b)

    def lt(self, a: Expr | int, b: Expr | int) -> Expr:
        return self.binary("lt", a, b)

    def eq(self, a: Expr | int, b: Expr | int) -> Expr:
        return self.binary("eq", a, b)

    def and_(self, a: Expr | int, b: Expr | int) -> Expr:
        return self.binary("and", a, b)

    def or_(self, a: Expr | int, b: Expr | int) -> Expr:
        return self.binary("or", a, b)

    def select(self, cond: Expr, a: Expr | int, b: Expr | int) -> Expr:
        a, b = self.lift(a), self.lift(b)
        if cond.is_const:
            return a if cond.value else b
        return self._node("select", (cond, a, b), np.where(cond.values != 0, a.values, b.values))


# ----------------------------------------------------------------------------- tile geometry


@dataclass(frozen=True)
class AxisExprs:
    """One axis of the current tile (as `tiles.Span`, per tile)."""

    out_start: Expr
    size: Expr
    in_start: Expr
    fetched: Expr
    pad_lo: Expr
    pad_hi: Expr
    zero_lo: Expr
    zero_hi: Expr

    @property
    def l1_extent(self) -> Expr:
        return self.fetched + self.zero_lo + self.zero_hi


def axis_exprs(index: Expr, out_size: int, in_size: int, tile: int, kernel: int, stride: int,
               pad_lo: int, symmetric: bool, axis: str) -> AxisExprs:
    """`tiles.axis_spans` as expressions of the axis' tile index."""
    s = index.space
    o0 = (index * tile).named(f"{axis}_out")
    o1 = s.minimum(o0 + tile, out_size).named(f"{axis}_out_end")
    size = (o1 - o0).named(f"{axis}_size")
    lo = o0 * stride - pad_lo
    hi = (o1 - 1) * stride + (kernel - pad_lo)
    p_lo = s.maximum(0 - lo, 0)
    p_hi = s.maximum(hi - in_size, 0)
    i0 = s.maximum(lo, 0).named(f"{axis}_in")
    i1 = s.maximum(s.minimum(hi, in_size), i0).named(f"{axis}_in_end")
    zero = s.const(0)
    z_lo = z_hi = zero
    if symmetric:
        keep = s.and_(s.eq(p_lo, p_hi), s.or_(s.eq(p_lo, 0), s.eq(p_lo, kernel // 2))).named(f"{axis}_symmetric")
        z_lo, z_hi = s.select(keep, zero, p_lo), s.select(keep, zero, p_hi)
        p_lo, p_hi = s.select(keep, p_lo, zero), s.select(keep, p_hi, zero)
    return AxisExprs(o0, size, i0, (i1 - i0).named(f"{axis}_fetch"), p_lo.named(f"{axis}_pad_lo"),
                     p_hi.named(f"{axis}_pad_hi"), z_lo.named(f"{axis}_zero_lo"), z_hi.named(f"{axis}_zero_hi"))


def channel_exprs(index: Expr, channels: int, tile: int) -> AxisExprs:
    s = index.space
    c0 = (index * tile).named("c_out")
    size = (s.minimum(c0 + tile, channels) - c0).named("c_size")
    zero = s.const(0)
    return AxisExprs(c0, size, c0, size, zero, zero, zero, zero)


@dataclass(frozen=True)
class TileExprs:
    """Indices and axes of the current tile of a layer."""

    space: TileSpace
    counts: tuple[int, int, int]  # (nh, nw, nc) as the tiling records them
    tc: Expr
    th: Expr
    tw: Expr
    h: AxisExprs
    w: AxisExprs
    c: AxisExprs
    in_c0: Expr  # first input channel of the tile
    in_chans: Expr  # input channels of the tile


def tile_exprs(g: LayerGeometry, sizes: tuple[int, int, int], counts: tuple[int, int, int]) -> TileExprs:
    """Expressions of the current tile; `sizes`/`counts` are (h, w, c) as in `dory.tiling`."""
    nh, nw, nc = counts
    space = TileSpace(nh * nw * nc)
    t = space.t
    tc = (t // (nh * nw)).named("tile_c")
    th = ((t // nw) % nh).named("tile_h")
    tw = (t % nw).named("tile_w")
    symmetric = g.kind in SYMMETRIC_PAD_KINDS
    h = axis_exprs(th, g.h_out, g.h, sizes[0], g.kh_eff, g.stride[0], g.pads[0], symmetric, "h")
    w = axis_exprs(tw, g.w_out, g.w, sizes[1], g.kw_eff, g.stride[1], g.pads[1], symmetric, "w")
    c = channel_exprs(tc, g.cout, sizes[2])
    if g.channels_tied:
        in_c0, in_chans = c.out_start, c.size
    else:
        in_c0, in_chans = space.const(0), space.const(g.cin)
    return TileExprs(space, counts, tc, th, tw, h, w, c, in_c0, in_chans)


def check_against_tiles(e: TileExprs, tiles: Sequence[Tile]) -> None:
    """Assert that the expressions give exactly the tiles of `tiles.enumerate_tiles`."""
    assert len(tiles) == e.space.n
    for t, tile in enumerate(tiles):
        got = Tile(
            index=(e.tc.at(t), e.th.at(t), e.tw.at(t)),
            out_h=(e.h.out_start.at(t), e.h.out_start.at(t) + e.h.size.at(t)),
            out_w=(e.w.out_start.at(t), e.w.out_start.at(t) + e.w.size.at(t)),
            out_c=(e.c.out_start.at(t), e.c.out_start.at(t) + e.c.size.at(t)),
            in_h=(e.h.in_start.at(t), e.h.in_start.at(t) + e.h.fetched.at(t)),
            in_w=(e.w.in_start.at(t), e.w.in_start.at(t) + e.w.fetched.at(t)),
            in_c=(e.in_c0.at(t), e.in_c0.at(t) + e.in_chans.at(t)),
            pad=(e.h.pad_lo.at(t), e.w.pad_lo.at(t), e.h.pad_hi.at(t), e.w.pad_hi.at(t)),
            zeros=(e.h.zero_lo.at(t), e.w.zero_lo.at(t), e.h.zero_hi.at(t), e.w.zero_hi.at(t)),
        )
        assert got == tile, f"tile {t}: loop expressions give {got}, tiles.py {tile}"


# ----------------------------------------------------------------------------- DMA


@dataclass(frozen=True)
class CopyLoop:
    """`count` repetitions; each moves the L2 side by `l2_step` and the L1 side by `l1_step` bytes."""

    count: Expr
    l2_step: int
    l1_step: Expr


@dataclass(frozen=True)
class CopyCommand:
    """One DMA command per innermost iteration (1-D when `two_d` is false: length = size)."""

    l2: Expr
    l1: Expr
    size: Expr
    line: Expr
    stride: int
    two_d: bool


@dataclass(frozen=True)
class SymbolicCopy:
    """Loops (outermost first) around one command; `guard` (when not None) must hold for the
    tile to copy anything (some tiles have an empty region)."""

    loops: tuple[CopyLoop, ...]
    command: CopyCommand
    guard: Expr | None

    def num_commands(self, t: int) -> int:
        if self.guard is not None and not self.guard.at(t):
            return 0
        n = 1
        for loop in self.loops:
            n *= loop.count.at(t)
        return n

    def commands_per_tile(self) -> np.ndarray:
        """`num_commands(t)` for every tile t, as one vector."""
        n = np.ones(len(self.command.size.values), dtype=np.int64)
        for loop in self.loops:
            n = n * loop.count.values
        return n if self.guard is None else np.where(self.guard.values != 0, n, 0)


Dim = tuple[Expr, int, Expr]  # extent, L2 stride (bytes), L1 stride (bytes)


def copy_plan(dims: Sequence[Dim], elem_bytes: int, l2_base: Expr, l1_base: Expr, limits: DmaLimits,
              what: str) -> SymbolicCopy | None:
    """Split the copy of a strided L2 region to/from a dense L1 tile into legal commands, the
    same way on every tile (see the module docstring); None when no tile copies anything."""
    s = l2_base.space
    valid = np.ones(s.n, dtype=bool)
    guard: Expr | None = None
    for extent, _, _ in dims:
        if extent.min <= 0:
            valid &= extent.values > 0
            positive = s.lt(0, extent)
            guard = positive if guard is None else s.and_(guard, positive)
    if not valid.any():
        return None
    if guard is not None and guard.is_const:
        guard = None

    def holds(condition: np.ndarray) -> bool:
        return bool(condition[valid].all())

    dims = [d for d in dims if not (d[0].is_const and d[0].value == 1)]
    merged: list[Dim] = [(s.const(elem_bytes), 1, s.const(1))]
    for extent, s2, s1 in reversed(dims):
        inner, is2, is1 = merged[0]
        mergeable = (extent.values == 1) | ((s2 == inner.values * is2) & (s1.values == inner.values * is1.values))
        if holds(mergeable) and holds(extent.values * inner.values <= limits.max_line_1d):
            merged[0] = (extent * inner, is2, is1)
        else:
            merged.insert(0, (extent, s2, s1))
    line = merged.pop()[0]
    if int(line.values[valid].max()) > limits.max_bytes:
        raise DoryError(f"{what}: a contiguous line of {line.max} B exceeds the {limits.max_bytes} B of a "
                        "DMA command (an L1 budget above 64 KiB is not supported)")
    command = CopyCommand(l2_base, l1_base, line, line, 0, False)
    if merged:
        m, s2, s1 = merged[-1]
        total = m * line
        contiguous = (m.values == 1) | (s1.values == line.values)
        if (holds(contiguous) and int(line.values[valid].max()) <= limits.max_line and s2 <= limits.max_stride
                and int(total.values[valid].max()) <= limits.max_bytes):
            merged.pop()
            command = CopyCommand(l2_base, l1_base, total, line, s2, True)
    loops = tuple(CopyLoop(count, s2, s1) for count, s2, s1 in merged)
    return SymbolicCopy(loops, command, guard)


def input_copy(g: LayerGeometry, e: TileExprs, limits: DmaLimits) -> SymbolicCopy | None:
    """`tiles.input_copy` of the current tile: L2 HWC input -> L1 HWC (depthwise: dense, no zeros)."""
    s, ab = e.space, g.act_bytes
    rows, cols, chans = e.h.l1_extent, e.w.l1_extent, e.in_chans
    fh, fw = e.h.fetched, e.w.fetched
    l2_base = ((e.h.in_start * g.w + e.w.in_start) * g.cin + e.in_c0) * ab
    if g.kind == "depthwise":  # the fetched HWC region, dense: the cores transpose it to CHW in L1
        dims: list[Dim] = [(fh, g.w * g.cin * ab, fw * chans * ab), (fw, g.cin * ab, chans * ab),
                           (chans, ab, s.const(ab))]
        l1_base = s.const(0)
    else:
        dims = [(fh, g.w * g.cin * ab, cols * chans * ab), (fw, g.cin * ab, chans * ab), (chans, ab, s.const(ab))]
        l1_base = (e.h.zero_lo * cols + e.w.zero_lo) * chans * ab
    return copy_plan(dims, ab, l2_base.named("in_ext"), l1_base, limits, f"layer '{g.name}' input")


def output_copy(g: LayerGeometry, e: TileExprs, limits: DmaLimits) -> SymbolicCopy | None:
    """`tiles.output_copy` of the current tile: dense HWC L1 tile -> L2 HWC output."""
    s, ob = e.space, g.out_bytes
    rows, cols, chans = e.h.size, e.w.size, e.c.size
    l2_base = ((e.h.out_start * g.w_out + e.w.out_start) * g.cout + e.c.out_start) * ob
    dims: list[Dim] = [(rows, g.w_out * g.cout * ob, cols * chans * ob), (cols, g.cout * ob, chans * ob),
                       (chans, ob, s.const(ob))]
    return copy_plan(dims, ob, l2_base.named("out_ext"), s.const(0), limits, f"layer '{g.name}' output")


def channel_slice_copy(e: TileExprs, name: str, bytes_per_channel: int, limits: DmaLimits,
                       layer: str) -> SymbolicCopy | None:
    """`tiles.channel_slice_copy` of the current channel tile (one contiguous slice)."""
    s = e.space
    return copy_plan([(e.c.size, bytes_per_channel, s.const(bytes_per_channel))], bytes_per_channel,
                     (e.c.out_start * bytes_per_channel).named(f"{name}_ext"), s.const(0), limits,
                     f"layer '{layer}' {name}")
