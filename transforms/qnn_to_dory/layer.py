"""One tiled layer -> its function: the L1 arena layout, the tile loop, double-buffered DMA of
inputs/parameters/outputs (from L2 or L3) and the PULP-NN call of every tile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DictionaryAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    StringAttr,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue

from dory_xdsl.dialects import dory
from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.kernel_layers import KernelLayer
from dory_xdsl.target import Target
from dory_xdsl.tensors import element_type
from dory_xdsl.tiling.layer_dma import DMA_QUEUES, INPUT_BUFFERS, L3_QUEUES, dma_queues, layer_plans
from dory_xdsl.tiling.layer_dma import PARAMETER_ORDER as PARAM_ORDER
from dory_xdsl.tiling.tile_exprs import Expr, SymbolicCopy, copy_plan
from dory_xdsl.tiling.tiles import DEPTHWISE_CHW, L1Layout, TileSizes, l1_layout, parameter_bytes_per_channel, spans_for
from dory_xdsl.transforms.qnn_to_dory.emitter import Leaf, _Body, _Emitter, memref_of

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
        if self.l3_queues():
            f.attributes[L3_QUEUES] = DictionaryAttr({ch: IntegerAttr(k, i64) for ch, k in self.l3_queues().items()})
        return f

    def l3_queues(self) -> dict[str, int]:
        """Most L3 requests pending per channel: one per parameter for a chunk (all on
        `L3_CHANNEL`), one per window of an input in L3 (see `schedule`)."""
        queues = {f"{INPUT_BUFFERS[i]}_l3": 1 for i in self.windows}
        if self.chunk is not None:
            queues[L3_CHANNEL] = len(self.param_names)
        return dict(sorted(queues.items()))

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
        input_double = not fixed_input and (self.copies("in") == 2 or (plans.transposed_input and self.double_buffer))
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
            if plans.transposed_input:  # frees the input buffer for the next tile's DMA
                self.transpose(leaf)
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

    def transpose(self, leaf: Leaf) -> None:
        """Depthwise: the cores transpose the fetched HWC tile into the kernel's CHW buffer (with
        the materialised zero rows/columns)."""
        e = self.e

        def v(x: Expr) -> int | SSAValue:
            return self.emitter.mixed(x, leaf)

        buffers = {"in": self.emitter.value(self.slot("in"), leaf),
                   "out": self.emitter.value(self.slot(DEPTHWISE_CHW), leaf)}
        params = {"rows": v(e.h.fetched), "cols": v(e.w.fetched), "chans": v(e.in_chans), "top": v(e.h.zero_lo),
                  "left": v(e.w.zero_lo), "dst_rows": v(e.h.l1_extent.named("h_l1")),
                  "dst_cols": v(e.w.l1_extent.named("w_l1"))}
        self.body.emit(dory.HwcToChwOp(self.l1, buffers, params))

    def fetch_inputs(self, leaf: Leaf) -> None:
        e, g = self.e, self.g
        zeros = e.h.zero_lo + e.h.zero_hi + e.w.zero_lo + e.w.zero_hi
        if self.plans.transposed_input:  # the transposition writes the zeros
            zeros = e.space.const(0)
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
            buffers[INPUT_BUFFERS[i]] = at(self.slot(DEPTHWISE_CHW if self.plans.transposed_input else INPUT_BUFFERS[i]))
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
