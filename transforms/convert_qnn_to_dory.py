"""`convert-qnn-to-dory`: rewrite tiled qnn layers into explicit DMA / PULP-NN call sequences.

Expects fused, NHWC qnn IR whose layer ops carry `dory.tiling` (run `qnn-fuse-requant`,
`qnn-to-nhwc`, `qnn-tile` first) in `func.func @main`. Produces, in the `dory` dialect plus
`func`, `memref`, `scf` and `arith`:

- one `memref.global` per layer parameter (weights OHWI, depthwise `C x Kh x Kw`, dilated
  kernels zero-expanded, k, lambda with the bias folded in, int32 bias of `linear_out_32`;
  see `dory_xdsl.kernel_layers`);
- one `func.func @layer<N>_<kind>(%l1, inputs..., params..., %out)` per layer, holding its
  whole tile schedule; attributes `dory.layer` (N, the golden-data layer number), `dory.kernel`
  (the PULP-NN function), `dory.tiling` and `dory.l1_buffers` (`{name = array<size, offset of
  copy 0[, copy 1]>}`, the fixed L1 offsets of `dory_xdsl.tiles.l1_layout`);
- `func.func @main(inputs..., outputs...)` taking the network inputs and output buffers as
  memrefs: it creates the L1 arena (`dory.l1_arena`, the L1 budget), allocates one L2 buffer
  per intermediate activation (`memref.alloc`; an offline L2 plan comes later), gets the
  parameters (`memref.get_global`) and calls the layers in order. Reshape, transpose, slice and
  concat become `dory.copy` / `dory.transpose` / `dory.slice` / `dory.concat` on L2 buffers.

Tile schedule (one layer). Tiles come from `dory_xdsl.tiles.enumerate_tiles` (channel tiles
outermost, then rows, then columns) and are emitted in order, each with its own static
numbers (sizes, per-tile padding, offsets: everything in the IR, nothing left to a template):
a layer that fits L1 whole is one tile, hence no loop. Each DMA copy is the command list of
`dory_xdsl.tiles` (`input_copy`, `output_copy`, `channel_slice_copy`): 1-D/2-D commands within
the GAP-8 limits, repeated by `scf.for` loops (with `arith` index arithmetic on the L2 and L1
offsets) when the copy plan has loops (e.g. the CHW gather of a depthwise input, one command
per channel). Channels: one per buffer ("in", "in2", "weights", "bias", "k", "lambda", "out").
Double buffering: buffers with two L1 copies alternate; the next tile's input (and the next
channel tile's parameters) is started *before* the current tile's kernel call, and the current
tile's output is started right after it, so transfers overlap compute. Per iteration:

    wait for this tile's inputs/parameters;  start next tile's fetches (2-copy buffers);
    [wait out if single copy];  kernel call;  [wait out (previous tile) if two copies];
    start out;  start next tile's fetches (1-copy buffers)

Zero rows/columns a tile materialises (the depthwise/avgpool symmetric-padding rule of
`tiles`) are cleared with `dory.zero` before its input DMA.

Dilation: PULP-NN's conv kernels have no dilation argument, so a dilated conv is run as the
plain kernel with a zero-expanded kernel (extent `(K-1)*d + 1`, weights expanded at compile
time). This costs MACs on the zero taps but needs no strided gathers and keeps one kernel call
per tile; the tiler accounts for the expanded extent.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from dory_xdsl.tiles import (
    CopyPlan,
    L1Layout,
    Tile,
    TileSizes,
    channel_slice_copy,
    enumerate_tiles,
    input_copy,
    l1_layout,
    output_copy,
    parameter_bytes_per_channel,
)
from dory_xdsl.transforms.qnn_tile import TILING

PARAM_ORDER = ("weights", "bias", "k", "lambda")
INPUT_BUFFERS = ("in", "in2")


def memref_of(t: TensorType) -> MemRefType:
    return MemRefType(t.element_type, list(t.get_shape()))


class _Body:
    """Appends ops to a block (or a loop body); index constants are hoisted to the function top."""

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

    def add(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.emit(arith.AddiOp(a, b)).results[0]

    def mul(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.emit(arith.MuliOp(a, b)).results[0]

    def finish(self) -> None:
        first = self.block.first_op
        for value in sorted(self.constants):
            op = self.constants[value]
            if first is None:
                self.block.add_op(op)
            else:
                self.block.insert_op_before(op, first)


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

    # ------------------------------------------------------------------ signature

    def function(self, arena_type: MemRefType) -> func.FuncOp:
        op = self.layer.op
        in_types = [memref_of(v.type) for v in self.layer.inputs]  # type: ignore[arg-type]
        param_types = [self.param_type(p) for p in self.param_names]
        out_type = memref_of(op.results[0].type)  # type: ignore[arg-type]
        block = Block(arg_types=[arena_type, *in_types, *param_types, out_type])
        args = list(block.args)
        self.l1 = args[0]
        self.inputs = args[1:1 + len(in_types)]
        self.params = dict(zip(self.param_names, args[1 + len(in_types):-1]))
        self.out = args[-1]
        for arg, hint in zip(args, ["l1", *INPUT_BUFFERS[:len(in_types)], *self.param_names, "out"]):
            arg.name_hint = "lambda_" if hint == "lambda" else hint
        self.body = _Body(block)
        self.schedule()
        self.body.emit(func.ReturnOp())
        self.body.finish()
        f = func.FuncOp(self.fname, ([a.type for a in args], []), Region(block))
        f.attributes["dory.layer"] = IntegerAttr(self.layer.index, i64)
        f.attributes["dory.kernel"] = StringAttr(self.g.kernel)
        f.attributes["dory.tiling"] = self.tiling
        f.attributes["dory.l1_buffers"] = DictionaryAttr({
            b.name: DenseArrayBase.from_list(i64, [b.size, *b.offsets]) for b in self.layout.buffers
        })
        return f

    def param_type(self, name: str) -> MemRefType:
        array = self.layer.params[name]
        return MemRefType(element_type(array.dtype), list(array.shape))

    # ------------------------------------------------------------------ schedule

    def offset(self, name: str, copy: int) -> int:
        offsets = self.layout.buffer(name).offsets
        return offsets[copy % len(offsets)]

    def copies(self, name: str) -> int:
        return len(self.layout.buffer(name).offsets)

    def schedule(self) -> None:
        tiles = enumerate_tiles(self.g, self.sizes)
        h_count, w_count, _ = self.tiling.counts
        # as tiles.l1_buffer_specs: conv/linear read one input tile when there is one spatial tile
        fixed_input = len(tiles) == 1 or (not self.g.channels_tied and h_count == w_count == 1)
        pending: list[str] = []

        def fetch_inputs(t: int) -> None:
            for i, value in enumerate(self.inputs):
                name = INPUT_BUFFERS[i]
                self.fetch_input(tiles[t], value, name, self.offset(name, t))
                pending.append(name)

        def fetch_params(ct: int, tile: Tile) -> None:
            for name in self.param_names:
                plan = channel_slice_copy(tile.out_c, self.bytes_per_channel[name], self.target)
                self.emit_plan(plan, self.params[name], self.offset(name, ct), "l2_to_l1", name)
                pending.append(name)

        def wait(names: Sequence[str]) -> None:
            for name in [n for n in dict.fromkeys(pending) if n in names]:
                self.body.emit(dory.DmaWaitOp(name))
                while name in pending:
                    pending.remove(name)

        fetch_params(0, tiles[0])
        fetch_inputs(0)
        inputs_in = [INPUT_BUFFERS[i] for i in range(len(self.inputs))]
        for t, tile in enumerate(tiles):
            wait([*inputs_in, *self.param_names])
            later: list[tuple[str, int]] = []
            if t + 1 < len(tiles):
                nxt = tiles[t + 1]
                if not fixed_input and self.copies("in") == 2:
                    fetch_inputs(t + 1)
                elif not fixed_input:
                    later.append(("in", t + 1))
                if nxt.index[0] != tile.index[0] and self.param_names:
                    if self.copies(self.param_names[0]) == 2:
                        fetch_params(nxt.index[0], nxt)
                    else:
                        later.append(("params", t + 1))
            if self.copies("out") == 1:
                wait(["out"])
            self.kernel(tile, t)
            if self.copies("out") == 2:
                wait(["out"])
            self.emit_plan(output_copy(self.g, tile, self.target), self.out, self.offset("out", t),
                           "l1_to_l2", "out")
            pending.append("out")
            for what, n in later:
                if what == "in":
                    fetch_inputs(n)
                else:
                    fetch_params(tiles[n].index[0], tiles[n])
        wait(["out"])

    def fetch_input(self, tile: Tile, value: SSAValue, name: str, base: int) -> None:
        if any(tile.zeros):
            rows, cols, chans = tile.in_l1_shape
            self.body.emit(dory.ZeroOp(self.l1, self.body.const(base), rows * cols * chans * self.g.act_bytes))
        self.emit_plan(input_copy(self.g, tile, self.target), value, base, "l2_to_l1", name)

    # ------------------------------------------------------------------ DMA

    def emit_plan(self, plan: CopyPlan, l2: SSAValue, l1_base: int, direction: str, channel: str) -> None:
        body = self.body
        outer = body.cursor
        ext_terms: list[SSAValue] = []
        loc_terms: list[SSAValue] = []
        for count, l2_step, l1_step in plan.loops:
            block = Block(arg_types=[IndexType()])
            body.emit(scf.ForOp(body.const(0), body.const(count), body.const(1), [], block))
            body.cursor = block
            iv = block.args[0]
            ext_terms.append(iv if l2_step == 1 else body.mul(iv, body.const(l2_step)))
            loc_terms.append(iv if l1_step == 1 else body.mul(iv, body.const(l1_step)))
        ext_sum = _sum(body, ext_terms)
        loc_sum = _sum(body, loc_terms)
        for t in plan.body:
            ext = _offset(body, ext_sum, t.l2)
            loc = _offset(body, loc_sum, l1_base + t.l1)
            body.emit(dory.DmaStartOp(l2, ext, self.l1, loc, size=t.size, length=t.line, stride=t.stride,
                                      dir=direction, channel=channel))
        if plan.loops:
            block = body.cursor
            while block is not outer:
                block.add_op(scf.YieldOp())
                parent = block.parent_op()
                assert parent is not None and parent.parent_block() is not None
                block = parent.parent_block()  # type: ignore[assignment]
            body.cursor = outer

    # ------------------------------------------------------------------ kernel calls

    def kernel(self, tile: Tile, t: int) -> None:
        g, layer, c = self.g, self.layer, self.body.const
        ct = tile.index[0]
        ho, wo, co = tile.out_shape
        rows, cols, _ = tile.in_l1_shape
        pt, pl, pb, pr = tile.pad
        buffers = {"out": c(self.offset("out", t))}
        for i in range(len(self.inputs)):
            buffers[INPUT_BUFFERS[i]] = c(self.offset(INPUT_BUFFERS[i], t))
        for name in self.param_names:
            buffers[name] = c(self.offset(name, ct))
        for scratch in ("im2col", "bufferC"):
            if any(b.name == scratch for b in self.layout.buffers):
                buffers[scratch] = c(self.offset(scratch, 0))
        s = layer.scalars
        kind = g.kind
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
            op_class = dory.AddOp
            buffers["in1"] = buffers.pop("in")
            params = {"out_mult1": s["out_mult1"], "out_mult2": s["out_mult2"], "out_shift": s["out_shift"],
                      "dim_im_in_h": ho, "dim_im_in_w": wo, "ch_im_in": co}
        else:
            op_class = dory.MaxPoolOp if kind == "maxpool" else dory.AvgPoolOp
            params = {
                "dim_im_in_x": cols, "dim_im_in_y": rows, "ch_im_in": co, "dim_im_out_x": wo,
                "dim_im_out_y": ho, "dim_kernel_x": g.kw, "dim_kernel_y": g.kh, "padding_t": pt,
                "padding_b": pb, "padding_l": pl, "padding_r": pr, "stride_x": g.stride[1],
                "stride_y": g.stride[0], **s,
            }
        self.body.emit(op_class(self.l1, buffers, params))


def _offset(body: _Body, dynamic: SSAValue | None, static: int) -> SSAValue:
    """`dynamic + static` (loop-dependent part plus constant part) as an index value."""
    if dynamic is None:
        return body.const(static)
    return dynamic if static == 0 else body.add(dynamic, body.const(static))


def _sum(body: _Body, terms: list[SSAValue]) -> SSAValue | None:
    total: SSAValue | None = None
    for term in terms:
        total = term if total is None else body.add(total, term)
    return total


# ----------------------------------------------------------------------------- network


class _NetworkLowering:
    def __init__(self, module: ModuleOp, main: func.FuncOp):
        self.module, self.main = module, main
        self.values: dict[SSAValue, SSAValue] = {}
        self.globals: list[Operation] = []
        self.functions: list[Operation] = []

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
        if v not in self.values:
            what = v.owner.name if isinstance(v.owner, Operation) else "value"
            raise DoryError(f"{user.name}: operand produced by {what} cannot be placed in L2 memory")
        return self.values[v]

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
            args.append(self.emit(memref.GetGlobalOp(gname, mtype)).results[0])
        args.append(self.destination(op.results[0]))
        self.emit(func.CallOp(fname, args, []))

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
