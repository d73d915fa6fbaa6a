"""`convert-qnn-to-dory`: rewrite tiled qnn layers into explicit DMA / PULP-NN call sequences.

Expects fused, NHWC qnn IR whose layer ops carry `dory.tiling` (run `qnn-fuse-requant`,
`qnn-to-nhwc`, `qnn-tile` first) in `func.func @main`. Produces, in the `dory` dialect plus
`func`, `memref`, `scf` and `arith`:

- one `memref.global` per layer parameter (weights OHWI, depthwise `C x Kh x Kw`, dilated
  kernels zero-expanded, k, lambda with the bias folded in, int32 bias of `linear_out_32`;
  see `dory_xdsl.analysis.kernel_layers`);
- one `func.func @layer<N>_<kind>(%l1, inputs..., params..., %out)` per layer, holding its
  whole tile schedule; attributes `dory.layer` (N, the golden-data layer number), `dory.kernel`
  (the C function each tile calls: PULP-NN or the generated `dory_add_requant`), `dory.tiling` and `dory.l1_buffers` (`{name = array<size, offset of
  copy 0[, copy 1]>}`, the fixed L1 offsets of `dory_xdsl.tiling.tiles.l1_layout`) and
  `dory.dma_queues` (`{channel = N}`: the ring of command structs of each DMA channel, which
  keeps at most the MCHAN's 16 commands outstanding; `dory_xdsl.tiling.layer_dma.dma_queues`) and, for
  a layer with L3 traffic, `dory.l3_queues` (`{channel = N}`: the most L3 requests pending at
  once, the size of its request array in the C);
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

Tile schedule (one layer). The N tiles of `dory_xdsl.tiling.tiles.enumerate_tiles` (channel tiles
outermost, then rows, then columns) are one flattened `scf.for %t = 0 to N` whose body
decomposes t into (tile_c, tile_h, tile_w) = (t / (nh*nw), t / nw % nh, t % nw) and computes
every per-tile number with `arith` index ops: output ranges, border tile sizes (`minsi`),
per-tile padding (`maxsi` against the tensor edges), the zero rows/columns of the depthwise /
avgpool symmetric-padding rule (`cmpi` + `select`), DMA offsets and sizes, and the
double-buffer slot (t % 2, or tile_c % 2 for the per-channel parameters). The formulas are
those of `tiles.axis_spans`, built as `dory_xdsl.tiling.tile_exprs` expressions: they fold to
constants wherever a number is the same on every tile (so the IR holds arithmetic only where
tiles differ), and the pass checks their values against `enumerate_tiles` on every tile. No
per-tile table is emitted. A layer that fits L1 whole is one tile: no loop, every number a
constant.

DMA: each copy (input, output, weights/bias/k/lambda slices) is one command shape valid on
every tile (`tile_exprs.copy_plan`: 1-D/2-D commands within the GAP-8 limits, dimensions merged
or grouped only where that holds on all tiles), repeated by inner `scf.for` loops where the
plan has loops (e.g. one command per row when both channels and columns are cut), with
per-tile sizes as `index` operands of `dory.dma_start`. A copy that is empty on some tiles is
guarded by an `scf.if`. The plans, and which tiles perform each copy, are
`dory_xdsl.tiling.layer_dma.layer_plans` (the compile report counts the same). Channels: one per
buffer ("in", "in2", "weights", "bias", "k", "lambda", "out"). Per iteration:

    wait for this tile's inputs / parameters
    [depthwise: the cores transpose the fetched HWC input into the kernel's CHW buffer]
    if t+1 < N: start tile t+1's input (and, when t+1 starts a channel tile, its parameters)
                into the buffers' other copy                                (double buffers;
                the depthwise input buffer too: the transposition freed it)
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

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from dory_xdsl.dialects import dory, qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.kernel_layers import LAYER_OPS, kernel_layer
from dory_xdsl.target import GAP8
from dory_xdsl.tensors import dense_attr
from dory_xdsl.transforms.qnn_tile import TILING
from dory_xdsl.transforms.qnn_to_dory.emitter import memref_of
from dory_xdsl.transforms.qnn_to_dory.layer import L3_ATTR, _LayerLowering, l3_placement  # noqa: F401 (l3_placement re-exported)


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
        from dory_xdsl.analysis.interpreter import main_function

        _NetworkLowering(op, main_function(op)).run()
