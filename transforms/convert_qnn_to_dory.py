"""`convert-qnn-to-dory`: rewrite tiled qnn layers into explicit DMA / PULP-NN call sequences.

Expects fused, NHWC qnn IR whose layer ops carry `dory.tiling` (run `qnn-fuse-requant`,
`qnn-to-nhwc`, `qnn-tile` first) in `func.func @main`. Produces, in the `dory` dialect plus
`func`, `memref`, `scf` and `arith`:

- one `memref.global` per layer parameter (weights OHWI, depthwise `C x Kh x Kw`, dilated
  kernels zero-expanded, k, lambda with the bias folded in, int32 bias of `linear_out_32`;
  see `dory_xdsl.kernel_layers`);
- one `func.func @layer<N>_<kind>(%l1, inputs..., params..., %out)` per layer, holding its
  whole tile schedule; attributes `dory.layer` (N, the golden-data layer number), `dory.kernel`
  (the C function each tile calls: PULP-NN or the generated `dory_add_requant`), `dory.tiling` and `dory.l1_buffers` (`{name = array<size, offset of
  copy 0[, copy 1]>}`, the fixed L1 offsets of `dory_xdsl.tiles.l1_layout`) and
  `dory.dma_queues` (`{channel = N}`: the ring of command structs of each DMA channel, which
  keeps at most the MCHAN's 16 commands outstanding; `dory_xdsl.layer_dma.dma_queues`);
- `func.func @main(inputs..., outputs...)` taking the network inputs and output buffers as
  memrefs: it creates the L1 arena (`dory.l1_arena`, the L1 budget), allocates one L2 buffer
  per intermediate activation (`memref.alloc`; an offline L2 plan comes later), gets the
  parameters (`memref.get_global`) and calls the layers in order. Reshape, transpose, slice and
  concat become `dory.copy` / `dory.transpose` / `dory.slice` / `dory.concat` on L2 buffers.

Constants that are not layer parameters (a `qnn.constant` operand of an L2 data op, of a layer's
activation input, or a network output; e.g. the zero-point padding blocks the QDQ importer
concatenates to a conv input) get an L2 buffer just before their first user, live to their last
use like an activation. A constant whose elements are all equal (the padding blocks) is a
`memref.alloc` set by `dory.fill` (an element loop in C: no bytes in the weights image, no L3
read); any other becomes a read-only `memref.global` `@constant<N>` fetched with
`memref.get_global` like a layer parameter (in weights.bin, copied L3 -> L2 before its user, or
the L2 array with `DORY_WEIGHTS_L2`).

Tile schedule (one layer). The N tiles of `dory_xdsl.tiles.enumerate_tiles` (channel tiles
outermost, then rows, then columns) are one flattened `scf.for %t = 0 to N` whose body
decomposes t into (tile_c, tile_h, tile_w) = (t / (nh*nw), t / nw % nh, t % nw) and computes
every per-tile number with `arith` index ops: output ranges, border tile sizes (`minsi`),
per-tile padding (`maxsi` against the tensor edges), the zero rows/columns of the depthwise /
avgpool symmetric-padding rule (`cmpi` + `select`), DMA offsets and sizes, and the
double-buffer slot (t % 2, or tile_c % 2 for the per-channel parameters). The formulas are
those of `tiles.axis_spans`, built as `dory_xdsl.tile_exprs` expressions: they fold to
constants wherever a number is the same on every tile (so the IR holds arithmetic only where
tiles differ), and the pass checks their values against `enumerate_tiles` on every tile. No
per-tile table is emitted. A layer that fits L1 whole is one tile: no loop, every number a
constant.

DMA: each copy (input, output, weights/bias/k/lambda slices) is one command shape valid on
every tile (`tile_exprs.copy_plan`: 1-D/2-D commands within the GAP-8 limits, dimensions merged
or grouped only where that holds on all tiles), repeated by inner `scf.for` loops where the
plan has loops (e.g. the CHW gather of a depthwise input, one command per channel), with
per-tile sizes as `index` operands of `dory.dma_start`. A copy that is empty on some tiles is
guarded by an `scf.if`. The plans, and which tiles perform each copy, are
`dory_xdsl.layer_dma.layer_plans` (the compile report counts the same). Channels: one per
buffer ("in", "in2", "weights", "bias", "k", "lambda", "out"). Per iteration:

    wait for this tile's inputs / parameters
    if t+1 < N: start tile t+1's input (and, when t+1 starts a channel tile, its parameters)
                into the buffers' other copy                                (double buffers)
    [wait out (single out copy)];  kernel call;  [wait out of tile t-1 (two out copies)]
    start this tile's output (it overlaps the next tile's compute)
    if t+1 < N: start tile t+1's fetches into single-copy buffers
    ... after the loop: wait out

The prologue fetches tile 0's parameters and input. Zero rows/columns a tile materialises are
cleared with `dory.zero` (under an `scf.if` when only some tiles have them) before its input
DMA.

Parameters streamed from L3 (a layer op with `dory.l3 = {weights = "stream", chunk = C}`, set by
`qnn-l3-tile` where that is cheaper in modelled cycles or needed to fit the L2 budget): C is the
layer's L1 channel tile.
The parameter globals stay in L3 (`memref.get_global` marked `dory.l3`) and @main allocates two L2
chunk slots per parameter, passed after the parameters. The prologue reads chunk 0 (`dory.l3_start`
into slot 0); fetching the parameters of channel tile tc waits for its chunk (`dory.l3_wait`),
moves it from slot tc % 2 to L1, and reads chunk tc + 1 into the other slot, whose previous chunk
already reached L1: L3 reads overlap the compute of the previous channel tile.

Activations in L3 (`dory.l3` with `output_l3` / `inputs_l3`): the producer writes its output
into an L2 staging buffer as usual; right after its call @main writes it to an L3 buffer
(`memref.alloc` marked `dory.l3`, a blocking `dory.l3_start` + `dory.l3_wait`) and the staging
buffer dies. A consumer gets the L3 buffer and a two-slot L2 window buffer per such input: the
first tile of each row of tiles (row group = t / nw) waits for its window (the input rows of
that row, all columns and channels, in slot row group % 2), reads the next row's window into the
other slot, and every tile copies its input from the window with the usual copy plan shifted by
minus the window's first row.

Dilation: PULP-NN's conv kernels have no dilation argument, so a dilated conv is run as the
plain kernel with a zero-expanded kernel (extent `(K-1)*d + 1`, weights expanded at compile
time). This costs MACs on the zero taps but needs no strided gathers and keeps one kernel call
per tile; the tiler accounts for the expanded extent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DictionaryAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from dory_xdsl.dialects import dory, qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.kernel_layers import LAYER_OPS, KernelLayer, kernel_layer
from dory_xdsl.target import GAP8, Target
from dory_xdsl.tensors import dense_attr, element_type
from dory_xdsl.layer_dma import DMA_QUEUES, INPUT_BUFFERS, dma_queues, layer_plans
from dory_xdsl.layer_dma import PARAMETER_ORDER as PARAM_ORDER
from dory_xdsl.tile_exprs import Expr, SymbolicCopy, copy_plan
from dory_xdsl.tiles import L1Layout, TileSizes, l1_layout, parameter_bytes_per_channel, spans_for
from dory_xdsl.transforms.qnn_tile import TILING

L3_ATTR = "dory.l3"  # set by qnn-l3-tile on a layer that streams its parameters from L3
L3_CHANNEL = "params_l3"
CHUNK_ALIGN = 8


def l3_placement(op: Operation) -> tuple[tuple[bool, ...], bool]:
    """Which activation inputs of a layer, and whether its output, live in L3 (`dory.l3`)."""
    attr = op.attributes.get(L3_ATTR)
    data = attr.data if isinstance(attr, DictionaryAttr) else {}
    inputs = data.get("inputs_l3")
    flags = tuple(bool(v) for v in inputs.get_values()) if isinstance(inputs, DenseArrayBase) else ()
    output = data.get("output_l3")
    return flags, isinstance(output, IntegerAttr) and bool(output.value.data)


def streamed_chunk(op: Operation, tiling: dory.TilingAttr, name: str) -> int | None:
    """Output channels per L3 chunk when the layer streams its parameters (`dory.l3`), else None."""
    attr = op.attributes.get(L3_ATTR)
    if not isinstance(attr, DictionaryAttr) or "chunk" not in attr.data:
        return None
    chunk = attr.data["chunk"].value.data  # type: ignore[union-attr]
    if chunk != tiling.sizes[2] or tiling.counts[2] < 2:
        raise DoryError(f"layer '{name}': dory.l3 chunk {chunk} is not its L1 channel tile "
                        f"{tiling.sizes[2]} (stale? re-run qnn-l3-tile after qnn-tile)")
    return chunk


def memref_of(t: TensorType) -> MemRefType:
    return MemRefType(t.element_type, list(t.get_shape()))


class _Body:
    """Appends ops at a cursor block; index constants are hoisted to the function top."""

    def __init__(self, block: Block):
        self.block = block
        self.cursor = block
        self.constants: dict[int, Operation] = {}

    def emit(self, op: Operation) -> Operation:
        self.cursor.add_op(op)
        return op

    def const(self, value: int) -> SSAValue:
        if value not in self.constants:
            self.constants[value] = arith.ConstantOp(IntegerAttr(value, IndexType()))
        return self.constants[value].results[0]

    @contextmanager
    def inside(self, block: Block) -> Iterator[None]:
        """Emit into `block` (a loop or `if` body), closed with `scf.yield`."""
        outer, self.cursor = self.cursor, block
        try:
            yield
        finally:
            block.add_op(scf.YieldOp())
            self.cursor = outer

    def finish(self) -> None:
        first = self.block.first_op
        for value in sorted(self.constants):
            op = self.constants[value]
            if first is None:
                self.block.add_op(op)
            else:
                self.block.insert_op_before(op, first)


Leaf = int | SSAValue
"""The tile index an expression is emitted for: a known tile (constants) or an `index` value."""

_ARITH = {
    "add": arith.AddiOp, "sub": arith.SubiOp, "mul": arith.MuliOp, "div": arith.DivSIOp,
    "rem": arith.RemSIOp, "min": arith.MinSIOp, "max": arith.MaxSIOp, "and": arith.AndIOp,
    "or": arith.OrIOp,
}


class _Emitter:
    """Emits tile expressions (`dory_xdsl.tile_exprs`) as `arith` ops, each once per scope."""

    def __init__(self, body: _Body):
        self.body = body
        self.scopes: list[dict[tuple[int, int], SSAValue]] = [{}]
        self.prefix = ""

    @contextmanager
    def scope(self, block: Block, prefix: str | None = None) -> Iterator[None]:
        """Emit into a nested block; values emitted there are not reused outside it."""
        saved = self.prefix
        self.scopes.append({})
        if prefix is not None:
            self.prefix = prefix
        try:
            with self.body.inside(block):
                yield
        finally:
            self.scopes.pop()
            self.prefix = saved

    def value(self, e: Expr, leaf: Leaf) -> SSAValue:
        if e.is_const:
            return self.body.const(e.value)
        if isinstance(leaf, int):
            return self.body.const(e.at(leaf))
        if e.op == "tile":
            return leaf
        key = (id(e), id(leaf))
        for scope in reversed(self.scopes):
            if key in scope:
                return scope[key]
        args = [self.value(a, leaf) for a in e.args]
        if e.op == "lt":
            op: Operation = arith.CmpiOp(args[0], args[1], "slt")
        elif e.op == "eq":
            op = arith.CmpiOp(args[0], args[1], "eq")
        elif e.op == "select":
            op = arith.SelectOp(*args)
        else:
            op = _ARITH[e.op](*args)
        self.body.emit(op)
        result = op.results[0]
        if e.name:
            result.name_hint = self.prefix + e.name
        self.scopes[-1][key] = result
        return result

    def mixed(self, e: Expr, leaf: Leaf) -> int | SSAValue:
        if e.is_const:
            return e.value
        if isinstance(leaf, int):
            return e.at(leaf)
        return self.value(e, leaf)


class _LayerLowering:
    """Builds the function of one tiled layer."""

    def __init__(self, layer: KernelLayer, tiling: dory.TilingAttr, target: Target, fname: str):
        self.layer, self.g, self.tiling, self.target = layer, layer.geometry, tiling, target
        self.sizes = TileSizes(*tiling.sizes)
        self.double_buffer = bool(tiling.double_buffer.data)
        self.layout: L1Layout = l1_layout(self.g, self.sizes, target, self.double_buffer)
        if self.layout.total != tiling.l1.data:
            raise DoryError(
                f"layer '{layer.name}': its dory.tiling says {tiling.l1.data} B of L1 but the tiles "
                f"need {self.layout.total} B (stale tiling? re-run qnn-tile)"
            )
        self.fname = fname
        self.param_names = [p for p in PARAM_ORDER if p in layer.params]
        self.bytes_per_channel = parameter_bytes_per_channel(self.g)
        self.chunk = streamed_chunk(layer.op, tiling, layer.name)
        flags = l3_placement(layer.op)[0]
        self.inputs_l3 = tuple(flags[i] if i < len(flags) else False for i in range(len(layer.inputs)))
        rows = max(s.fetched for s in spans_for(self.g, "h", self.sizes.h))
        self.window_slot = -(-rows * self.g.w * self.g.cin * self.g.act_bytes // CHUNK_ALIGN) * CHUNK_ALIGN
        self.chunk_slot = {name: -(-(self.chunk or 0) * self.bytes_per_channel[name] // CHUNK_ALIGN) * CHUNK_ALIGN
                           for name in self.param_names}

    # ------------------------------------------------------------------ signature

    def function(self, arena_type: MemRefType) -> func.FuncOp:
        op = self.layer.op
        in_types = [memref_of(v.type) for v in self.layer.inputs]  # type: ignore[arg-type]
        param_types = [self.param_type(p) for p in self.param_names]
        chunk_types = self.chunk_types()
        window_types = self.window_types()
        out_type = memref_of(op.results[0].type)  # type: ignore[arg-type]
        block = Block(arg_types=[arena_type, *in_types, *param_types, *chunk_types, *window_types, out_type])
        args = list(block.args)
        self.l1 = args[0]
        self.inputs = args[1:1 + len(in_types)]
        first_param = 1 + len(in_types)
        first_chunk = first_param + len(param_types)
        self.params = dict(zip(self.param_names, args[first_param:first_chunk]))
        self.chunks = dict(zip(self.param_names, args[first_chunk:first_chunk + len(chunk_types)]))
        l3_inputs = [i for i, flag in enumerate(self.inputs_l3) if flag]
        self.windows = dict(zip(l3_inputs, args[first_chunk + len(chunk_types):-1]))
        self.out = args[-1]
        hints = ["l1", *INPUT_BUFFERS[:len(in_types)], *self.param_names,
                 *(f"{p}_l2" for p in self.param_names[:len(chunk_types)]),
                 *(f"{INPUT_BUFFERS[i]}_l2" for i in l3_inputs), "out"]
        for arg, hint in zip(args, hints):
            arg.name_hint = hint.replace("lambda", "lambda_") if hint.startswith("lambda") else hint
        self.body = _Body(block)
        self.emitter = _Emitter(self.body)
        self.schedule()
        self.body.emit(func.ReturnOp())
        self.body.finish()
        f = func.FuncOp(self.fname, ([a.type for a in args], []), Region(block))
        f.attributes["dory.layer"] = IntegerAttr(self.layer.index, i64)
        f.attributes["dory.kernel"] = StringAttr(self.layer.kernel)
        f.attributes["dory.tiling"] = self.tiling
        f.attributes["dory.l1_buffers"] = DictionaryAttr({
            b.name: DenseArrayBase.from_list(i64, [b.size, *b.offsets]) for b in self.layout.buffers
        })
        queues = dma_queues(self.g, self.sizes, self.target, self.double_buffer)
        f.attributes[DMA_QUEUES] = DictionaryAttr({ch: IntegerAttr(k, i64) for ch, k in queues.capacity.items()})
        return f

    def chunk_types(self) -> list[MemRefType]:
        """The L2 chunk buffers of streamed parameters (two slots each), none otherwise."""
        from xdsl.dialects.builtin import IntegerType, Signedness

        if self.chunk is None:
            return []
        ui8 = IntegerType(8, Signedness.UNSIGNED)
        return [MemRefType(ui8, [2 * self.chunk_slot[name]]) for name in self.param_names]

    def window_types(self) -> list[MemRefType]:
        """The L2 window buffers (two slots) of the inputs that live in L3."""
        from xdsl.dialects.builtin import IntegerType, Signedness

        ui8 = IntegerType(8, Signedness.UNSIGNED)
        return [MemRefType(ui8, [2 * self.window_slot]) for flag in self.inputs_l3 if flag]

    def param_type(self, name: str) -> MemRefType:
        array = self.layer.params[name]
        return MemRefType(element_type(array.dtype), list(array.shape))

    # ------------------------------------------------------------------ schedule

    def copies(self, name: str) -> int:
        return len(self.layout.buffer(name).offsets)

    def slot(self, name: str) -> Expr:
        """L1 offset of the current tile's copy of a buffer (double buffers alternate)."""
        e = self.e
        offsets = self.layout.buffer(name).offsets
        if len(offsets) == 1:
            return e.space.const(offsets[0])
        parity = (e.tc % 2).named("c_slot") if name in self.param_names else (e.space.t % 2).named("slot")
        return (parity * (offsets[1] - offsets[0]) + offsets[0]).named(f"{name}_l1")

    def schedule(self) -> None:
        g, limits = self.g, self.target.dma
        c_count = self.tiling.counts[2]
        plans = layer_plans(g, self.sizes, limits)  # the copies and the tiles doing them, shared with the report
        if plans.exprs.counts != self.tiling.counts:
            raise DoryError(f"layer '{g.name}': its dory.tiling counts {list(self.tiling.counts)} do not match "
                            f"its tile sizes {list(self.tiling.sizes)} (stale tiling? re-run qnn-tile)")
        self.plans = plans
        self.e = e = plans.exprs
        n = e.space.n
        fixed_input = self.fixed_input = plans.fixed_input
        self.input_plan, self.output_plan = plans.input, plans.output
        self.param_plans = {name: plans.params[name] for name in self.param_names}
        if self.chunk is not None:  # L2 -> L1 from the chunk slot (tc % 2) instead of the whole parameter
            self.param_plans = {
                name: copy_plan([(e.c.size, bpc, e.space.const(bpc))], bpc,
                                ((e.tc % 2) * self.chunk_slot[name]).named(f"{name}_chunk"),
                                e.space.const(0), limits, f"layer '{g.name}' {name}")
                for name, bpc in ((n, self.bytes_per_channel[n]) for n in self.param_names)
            }
        new_channel_tile = plans.starts_channel_tile
        refetch_params = c_count > 1 and bool(self.param_names)
        params_double = refetch_params and self.copies(self.param_names[0]) == 2
        input_double = not fixed_input and self.copies("in") == 2
        inputs = [INPUT_BUFFERS[i] for i in range(len(self.inputs))]

        def prefetch(leaf: Leaf, double: bool) -> None:
            """Start the next tile's transfers into the buffers with (without) a second copy."""
            fetch_in = not fixed_input and input_double == double
            fetch_params = refetch_params and params_double == double
            if n == 1 or not (fetch_in or fetch_params):
                return
            body = self.body
            assert not isinstance(leaf, int)
            nxt = body.emit(arith.AddiOp(leaf, body.const(1))).results[0]
            nxt.name_hint = "t_next"
            cond = body.emit(arith.CmpiOp(nxt, body.const(n), "slt")).results[0]
            cond.name_hint = "has_next"
            then = Block()
            body.emit(scf.IfOp(cond, [], [then]))
            with self.emitter.scope(then, prefix="next_"):
                if fetch_in:
                    self.fetch_inputs(nxt)
                if fetch_params:
                    self.when(new_channel_tile, nxt, lambda: self.fetch_params(nxt))

        def tile(leaf: Leaf) -> None:
            for name in [*inputs, *self.param_names]:
                self.body.emit(dory.DmaWaitOp(name))
            prefetch(leaf, True)
            if self.copies("out") == 1 and n > 1:
                self.body.emit(dory.DmaWaitOp("out"))
            self.kernel(leaf)
            if self.copies("out") == 2:
                self.body.emit(dory.DmaWaitOp("out"))
            self.copy(self.output_plan, self.out, self.slot("out"), "l1_to_l2", "out", leaf)
            prefetch(leaf, False)

        if self.chunk is not None:
            self.read_chunk(0, ahead=0)
        for i in self.windows:
            self.read_window(i, 0)
        self.fetch_params(0)
        self.fetch_inputs(0)
        if n == 1:
            tile(0)
        else:
            block = Block(arg_types=[IndexType()])
            block.args[0].name_hint = "t"
            body = self.body
            body.emit(scf.ForOp(body.const(0), body.const(n), body.const(1), [], block))
            with self.emitter.scope(block):
                tile(block.args[0])
        self.body.emit(dory.DmaWaitOp("out"))

    def when(self, cond: Expr, leaf: Leaf, emit: Callable[[], None]) -> None:
        """`emit()` under `scf.if cond` (unconditionally when cond holds on every tile)."""
        if cond.is_const:
            if cond.value:
                emit()
            return
        if isinstance(leaf, int):
            if cond.at(leaf):
                emit()
            return
        then = Block()
        self.body.emit(scf.IfOp(self.emitter.value(cond, leaf), [], [then]))
        with self.emitter.scope(then):
            emit()

    def fetch_params(self, leaf: Leaf) -> None:
        if self.chunk is None:
            for name in self.param_names:
                self.copy(self.param_plans[name], self.params[name], self.slot(name), "l2_to_l1", name, leaf)
            return
        # streamed: this channel tile's chunk arrived in L2 slot tc % 2; move it to L1, then read
        # the next chunk from L3 into the other slot (its previous chunk already reached L1)
        self.body.emit(dory.L3WaitOp(L3_CHANNEL))
        for name in self.param_names:
            self.copy(self.param_plans[name], self.chunks[name], self.slot(name), "l2_to_l1", name, leaf)
        e = self.e
        self.when(e.space.lt(e.tc + 1, self.tiling.counts[2]).named("has_next_chunk"), leaf,
                  lambda: self.read_chunk(leaf, ahead=1))

    def read_chunk(self, leaf: Leaf, ahead: int) -> None:
        """L3 -> L2: the parameters of channel tile tc + `ahead` into chunk slot (tc + ahead) % 2."""
        e, g, em = self.e, self.g, self.emitter
        tc = e.tc + ahead
        channels = e.space.minimum(self.chunk, g.cout - tc * self.chunk)  # type: ignore[operator]
        for name in self.param_names:
            bpc = self.bytes_per_channel[name]
            ext = em.value((tc * (self.chunk * bpc)).named(f"{name}_l3"), leaf)  # type: ignore[operator]
            loc = em.value(((tc % 2) * self.chunk_slot[name]).named(f"{name}_slot"), leaf)
            size = em.mixed((channels * bpc).named(f"{name}_chunk_bytes"), leaf)
            self.body.emit(dory.L3StartOp(self.params[name], ext, self.chunks[name], loc, size=size, length=size,
                                          stride=size, dir="l3_to_l2", channel=L3_CHANNEL))

    def fetch_inputs(self, leaf: Leaf) -> None:
        e, g = self.e, self.g
        zeros = e.h.zero_lo + e.h.zero_hi + e.w.zero_lo + e.w.zero_hi
        size = e.h.l1_extent * e.w.l1_extent * e.in_chans * g.act_bytes
        for i, value in enumerate(self.inputs):
            name = INPUT_BUFFERS[i]
            base = self.slot(name)
            if zeros.max > 0:
                loc, nbytes = self.emitter.value(base, leaf), self.emitter.mixed(size.named("in_l1_bytes"), leaf)
                self.when(e.space.lt(0, zeros).named("has_zeros"), leaf,
                          lambda: self.body.emit(dory.ZeroOp(self.l1, loc, nbytes)))
            if i in self.windows:
                self.fetch_from_window(i, base, leaf)
            else:
                self.copy(self.input_plan, value, base, "l2_to_l1", name, leaf)

    def row_group(self) -> Expr:
        """Index of the current row of tiles (one input window each): t // nw."""
        return (self.e.space.t // self.tiling.counts[1]).named("row_group")

    def fetch_from_window(self, i: int, base: Expr, leaf: Leaf) -> None:
        """An input in L3: the first tile of each row of tiles waits for its window (rows of the
        input, all columns and channels, in slot row_group % 2) and reads the next row's window
        into the other slot (the previous row's tiles are done with it); every tile copies its
        input from the window, at its offset minus the window's first row."""
        e, g = self.e, self.g
        nw, n = self.tiling.counts[1], e.space.n
        channel = f"{INPUT_BUFFERS[i]}_l3"
        first = self.plans.starts_row.named("starts_row")
        self.when(first, leaf, lambda: self.body.emit(dory.L3WaitOp(channel)))
        shift = (self.row_group() % 2) * self.window_slot - e.h.in_start * (g.w * g.cin * g.act_bytes)
        plan = self.input_plan
        moved = dataclasses.replace(plan, command=dataclasses.replace(
            plan.command, l2=(plan.command.l2 + shift).named(f"{INPUT_BUFFERS[i]}_window_ext")))
        self.copy(moved, self.windows[i], base, "l2_to_l1", INPUT_BUFFERS[i], leaf)
        if self.fixed_input:  # read once: no next row
            return
        more = e.space.and_(first, e.space.lt(e.space.t + nw, n)).named("has_next_row")
        self.when(more, leaf, lambda: self.read_window(i, leaf, ahead=nw))

    def read_window(self, i: int, leaf: Leaf, ahead: int = 0) -> None:
        """L3 -> L2: the input rows of tile `leaf + ahead` (all columns and channels) into slot
        (its row group) % 2 of input i's window buffer."""
        em = self.emitter
        target: Leaf = leaf
        if isinstance(leaf, int):
            target = leaf + ahead
        elif ahead:
            target = self.body.emit(arith.AddiOp(leaf, self.body.const(ahead))).results[0]
            target.name_hint = "t_row_next"
        ext = em.value(self.plans.window_l3.named("window_l3"), target)  # the windows the report counts (`layer_plans`)
        loc = em.value(((self.row_group() % 2) * self.window_slot).named("window_slot"), target)
        size = em.mixed(self.plans.window_bytes.named("window_bytes"), target)
        self.body.emit(dory.L3StartOp(self.inputs[i], ext, self.windows[i], loc, size=size, length=size,
                                      stride=size, dir="l3_to_l2", channel=f"{INPUT_BUFFERS[i]}_l3"))

    # ------------------------------------------------------------------ DMA

    def copy(self, plan: SymbolicCopy | None, l2: SSAValue, slot: Expr, direction: str, channel: str,
             leaf: Leaf) -> None:
        """The DMA commands of one copy of the tile `leaf` (loops of commands when the plan has)."""
        if plan is None:
            return

        def commands() -> None:
            em, body = self.emitter, self.body
            cmd = plan.command
            ext = em.value(cmd.l2, leaf)
            loc = em.value(slot + cmd.l1, leaf)
            loops = [(em.value(loop.count, leaf), body.const(loop.l2_step), em.value(loop.l1_step, leaf))
                     for loop in plan.loops]
            size = em.mixed(cmd.size.named(f"{channel}_bytes"), leaf)
            length = em.mixed(cmd.line.named(f"{channel}_line"), leaf) if cmd.two_d else size
            stride = cmd.stride if cmd.two_d else size
            outer = body.cursor
            for count, l2_step, l1_step in loops:
                block = Block(arg_types=[IndexType()])
                block.args[0].name_hint = "i"
                body.emit(scf.ForOp(body.const(0), count, body.const(1), [], block))
                body.cursor = block
                iv = block.args[0]
                ext = _add(body, ext, _mul(body, iv, l2_step))
                loc = _add(body, loc, _mul(body, iv, l1_step))
            body.emit(dory.DmaStartOp(l2, ext, self.l1, loc, size=size, length=length, stride=stride,
                                      dir=direction, channel=channel))
            block = body.cursor
            while block is not outer:
                block.add_op(scf.YieldOp())
                parent = block.parent_op()
                assert parent is not None and parent.parent_block() is not None
                block = parent.parent_block()  # type: ignore[assignment]
            body.cursor = outer

        if plan.guard is None:
            commands()
        else:
            self.when(plan.guard, leaf, commands)

    # ------------------------------------------------------------------ kernel calls

    def kernel(self, leaf: Leaf) -> None:
        g, layer, e = self.g, self.layer, self.e

        def v(x: Expr) -> int | SSAValue:
            return self.emitter.mixed(x, leaf)

        def at(x: Expr) -> SSAValue:
            return self.emitter.value(x, leaf)

        ho, wo, co = v(e.h.size), v(e.w.size), v(e.c.size)
        rows, cols = v(e.h.l1_extent.named("h_l1")), v(e.w.l1_extent.named("w_l1"))
        pt, pl, pb, pr = (v(x) for x in (e.h.pad_lo, e.w.pad_lo, e.h.pad_hi, e.w.pad_hi))
        buffers = {"out": at(self.slot("out"))}
        for i in range(len(self.inputs)):
            buffers[INPUT_BUFFERS[i]] = at(self.slot(INPUT_BUFFERS[i]))
        for name in self.param_names:
            buffers[name] = at(self.slot(name))
        for scratch in ("im2col", "bufferC"):
            if any(b.name == scratch for b in self.layout.buffers):
                buffers[scratch] = at(self.slot(scratch))
        s = layer.scalars
        kind = g.kind
        params: dict[str, int | SSAValue]
        if kind in ("conv", "pointwise", "depthwise"):
            params = {
                "out_mult": 1, "out_shift": s["out_shift"], "dim_in_x": cols, "dim_in_y": rows,
                "ch_in": co if kind == "depthwise" else g.cin, "dim_out_x": wo, "dim_out_y": ho,
                "ch_out": co, "dim_kernel_x": g.kw_eff, "dim_kernel_y": g.kh_eff,
                "padding_y_top": pt, "padding_y_bottom": pb, "padding_x_left": pl,
                "padding_x_right": pr, "stride_x": g.stride[1], "stride_y": g.stride[0],
                "flag_relu": 1, "flag_batch_norm": 1, "requant_bits": g.requant_bits,
            }
            op_class: type[dory.KernelOp] = {
                "pulp_nn_conv_Ho_parallel": dory.ConvOp,
                "pulp_nn_pointwise_HoWo_parallel": dory.PointwiseOp,
                "pulp_nn_depthwise_generic": dory.DepthwiseOp,
                "pulp_nn_depthwise_generic_less_4_weights": dory.DepthwiseLess4Op,
            }[g.kernel]
        elif kind == "linear" and g.out_bytes == 4:
            op_class, params = dory.LinearOut32Op, {"dim_vec": g.cin, "num_o_neurons": co}
        elif kind == "linear":
            op_class = dory.LinearOp
            params = {"out_mult": 1, "out_shift": s["out_shift"], "dim_vec": g.cin,
                      "num_o_neurons": co, "flag_relu": 1, "flag_batch_norm": 1,
                      "requant_bits": g.requant_bits}
        elif kind == "add":
            buffers["in1"] = buffers.pop("in")
            dims = {"dim_im_in_h": ho, "dim_im_in_w": wo, "ch_im_in": co}
            if layer.kernel == dory.AddRequantOp.C_FUNCTION:  # no pulp_nn_add form
                op_class, params = dory.AddRequantOp, {**s, **dims}
            else:
                op_class = dory.AddOp
                params = {"out_mult1": s["out_mult1"], "out_mult2": s["out_mult2"], "out_shift": s["out_shift"],
                          **dims}
        else:
            op_class = dory.MaxPoolOp if kind == "maxpool" else dory.AvgPoolOp
            params = {
                "dim_im_in_x": cols, "dim_im_in_y": rows, "ch_im_in": co, "dim_im_out_x": wo,
                "dim_im_out_y": ho, "dim_kernel_x": g.kw, "dim_kernel_y": g.kh, "padding_t": pt,
                "padding_b": pb, "padding_l": pl, "padding_r": pr, "stride_x": g.stride[1],
                "stride_y": g.stride[0], **s,
            }
        self.body.emit(op_class(self.l1, buffers, params))


def _add(body: _Body, a: SSAValue, b: SSAValue) -> SSAValue:
    if _is_zero(b):
        return a
    if _is_zero(a):
        return b
    return body.emit(arith.AddiOp(a, b)).results[0]


def _mul(body: _Body, iv: SSAValue, step: SSAValue) -> SSAValue:
    owner = step.owner
    if isinstance(owner, arith.ConstantOp) and owner.value.value.data == 1:  # type: ignore[union-attr]
        return iv
    return body.emit(arith.MuliOp(iv, step)).results[0]


def _is_zero(value: SSAValue) -> bool:
    owner = value.owner
    return isinstance(owner, arith.ConstantOp) and owner.value.value.data == 0  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- network


class _NetworkLowering:
    def __init__(self, module: ModuleOp, main: func.FuncOp):
        self.module, self.main = module, main
        self.values: dict[SSAValue, SSAValue] = {}
        self.globals: list[Operation] = []
        self.functions: list[Operation] = []
        self.constant_globals: list[str] = []

    def run(self) -> None:
        old_block = self.main.body.block
        ret = old_block.last_op
        if not isinstance(ret, func.ReturnOp):
            raise DoryError("func.func @main must end with func.return")
        layer_ops = [op for op in old_block.ops if isinstance(op, LAYER_OPS)]
        tilings = []
        for op in layer_ops:
            tiling = op.attributes.get(TILING)
            if not isinstance(tiling, dory.TilingAttr):
                raise DoryError(f"{op.name}: no dory.tiling attribute (run qnn-tile first)")
            tilings.append(tiling)
        budget = max((t.budget.data for t in tilings), default=GAP8.l1_bytes)
        arena_type = dory.L1ArenaOp(budget).result.type
        in_types = [memref_of(a.type) for a in old_block.args]  # type: ignore[arg-type]
        out_types = [memref_of(v.type) for v in ret.arguments]  # type: ignore[arg-type]
        block = Block(arg_types=[*in_types, *out_types])
        self.block = block
        for old, new in zip(old_block.args, block.args):
            self.values[old] = new
        outputs = list(block.args[len(in_types):])
        self.destinations = {}
        for v, out in zip(ret.arguments, outputs):
            if v not in self.destinations and not isinstance(v.owner, Block) and list(ret.arguments).count(v) == 1:
                self.destinations[v] = out
        self.arena = self.emit(dory.L1ArenaOp(budget)).results[0]
        self.arena.name_hint = "l1"
        layer_index = 0
        for op in old_block.ops:
            if isinstance(op, func.ReturnOp):
                break
            if isinstance(op, qnn.ConstantOp):
                continue
            if isinstance(op, LAYER_OPS):
                self.layer(op, layer_index, tilings[layer_index], arena_type)
                layer_index += 1
            else:
                self.data_op(op)
        for v in ret.arguments:
            if isinstance(v.owner, qnn.ConstantOp):
                self.value(v, ret)  # a constant network output: filled (or copied below)
        for v, out in zip(ret.arguments, outputs):
            if self.destinations.get(v) is not out:
                self.emit(dory.CopyOp(self.value(v, ret), out))
        self.emit(func.ReturnOp())
        new_main = func.FuncOp("main", ([*in_types, *out_types], []), Region(block))
        self.main.detach()
        for op in [*self.globals, *self.functions, new_main]:
            self.module.body.block.add_op(op)

    def emit(self, op: Operation) -> Operation:
        self.block.add_op(op)
        return op

    def value(self, v: SSAValue, user: Operation) -> SSAValue:
        if v not in self.values and isinstance(v.owner, qnn.ConstantOp):
            self.constant(v)
        if v not in self.values:
            what = v.owner.name if isinstance(v.owner, Operation) else "value"
            raise DoryError(f"{user.name}: operand produced by {what} cannot be placed in L2 memory")
        return self.values[v]

    def constant(self, v: SSAValue) -> None:
        """An L2 buffer holding the `qnn.constant` `v`, placed before its first user: a
        `dory.fill` when every element is equal, else a read-only `memref.global`."""
        array = qnn.constant_array(v)
        assert array is not None
        if array.size and np.all(array == array.reshape(-1)[0]):
            self.emit(dory.FillOp(self.destination(v), int(array.reshape(-1)[0])))
            return
        gname = f"constant{len(self.constant_globals)}"
        self.constant_globals.append(gname)
        mtype = memref_of(v.type)  # type: ignore[arg-type]
        self.globals.append(memref.GlobalOp.get(
            StringAttr(gname), mtype, dense_attr(np.ascontiguousarray(array)), constant=_unit(),
        ))
        self.values[v] = self.emit(memref.GetGlobalOp(gname, mtype)).results[0]
        self.destinations.pop(v, None)  # a network output: copied from the global at the end

    def destination(self, result: SSAValue) -> SSAValue:
        dest = self.destinations.get(result)
        if dest is None:
            dest = self.emit(memref.AllocOp([], [], memref_of(result.type))).results[0]  # type: ignore[arg-type]
        self.values[result] = dest
        return dest

    def layer(self, op: Operation, index: int, tiling: dory.TilingAttr, arena_type: MemRefType) -> None:
        layer = kernel_layer(op, index)
        target = GAP8.with_budget(l1_bytes=tiling.budget.data)
        fname = f"layer{index}_{layer.geometry.kind}"
        lowering = _LayerLowering(layer, tiling, target, fname)
        self.functions.append(lowering.function(arena_type))
        args = [self.arena, *(self.value(v, op) for v in layer.inputs)]
        for name in lowering.param_names:
            array = layer.params[name]
            gname = f"{fname}_{'lambda' if name == 'lambda' else name}"
            mtype = lowering.param_type(name)
            self.globals.append(memref.GlobalOp.get(
                StringAttr(gname), mtype, dense_attr(np.ascontiguousarray(array)), constant=_unit(),
            ))
            get = self.emit(memref.GetGlobalOp(gname, mtype))
            if lowering.chunk is not None:
                get.attributes[L3_ATTR] = _unit()
            args.append(get.results[0])
        for chunk_type in lowering.chunk_types():
            args.append(self.emit(memref.AllocOp([], [], chunk_type)).results[0])
        for window_type in lowering.window_types():
            args.append(self.emit(memref.AllocOp([], [], window_type)).results[0])
        staging = self.destination(op.results[0])
        args.append(staging)
        self.emit(func.CallOp(fname, args, []))
        if l3_placement(op)[1]:  # the output lives in L3: write it there, free its L2 buffer
            l3 = self.emit(memref.AllocOp([], [], staging.type))
            l3.attributes[L3_ATTR] = _unit()
            zero = self.emit(arith.ConstantOp(IntegerAttr(0, IndexType()))).results[0]
            size = dory.memref_bytes(staging.type)  # type: ignore[arg-type]
            self.emit(dory.L3StartOp(l3.results[0], zero, staging, zero, size=size, length=size, stride=size,
                                     dir="l2_to_l3", channel="spill"))
            self.emit(dory.L3WaitOp("spill"))
            self.values[op.results[0]] = l3.results[0]

    def data_op(self, op: Operation) -> None:
        if isinstance(op, qnn.ReshapeOp):
            src = self.value(op.input, op)
            self.emit(dory.CopyOp(src, self.destination(op.result)))
        elif isinstance(op, qnn.TransposeOp):
            src = self.value(op.input, op)
            self.emit(dory.TransposeOp(src, self.destination(op.result), [int(p) for p in op.perm.get_values()]))
        elif isinstance(op, qnn.SliceOp):
            src = self.value(op.input, op)
            self.emit(dory.SliceOp(src, self.destination(op.result), [int(p) for p in op.offsets.get_values()]))
        elif isinstance(op, qnn.ConcatOp):
            srcs = [self.value(v, op) for v in op.inputs]
            self.emit(dory.ConcatOp(srcs, self.destination(op.result), op.axis.value.data))
        else:
            raise DoryError(f"{op.name}: has no lowering to the dory dialect (not a PULP-NN layer)")


def _unit():
    from xdsl.dialects.builtin import UnitAttr

    return UnitAttr()


@dataclass(frozen=True)
class ConvertQnnToDoryPass(ModulePass):
    name = "convert-qnn-to-dory"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from dory_xdsl.interpreter import main_function

        _NetworkLowering(op, main_function(op)).run()
