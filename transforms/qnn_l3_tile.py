"""`qnn-l3-tile`: decide, under the L2 budget, which parameters and activations go through L3.

Expects tiled qnn IR (after `qnn-tile`: every layer op carries `dory.tiling`) in `func.func
@main`. Builds the program of @main (`dory_xdsl.analysis.l3_program`) and runs the L3 planner
(`dory_xdsl.tiling.l3_planner`) with the L2 budget `l2-bytes`, restricted to what
`convert-qnn-to-dory` lowers (`L3Model(lowered_only=True)`):

- parameters copied whole before their layer, or streamed from L3 in chunks of exactly the
  layer's L1 channel tile (two L2 chunk buffers alternate: the next chunk is read while the
  current one feeds L1). Each layer takes the option with the fewest modelled cycles that fits
  (streaming hides the L3 reads behind compute, so it is usually chosen for layers with several
  channel tiles, not only when L2 is short);
- an activation that does not fit L2 (`activations-l3`, default true) lives in L3: its producer
  writes it whole from an L2 staging buffer right after the layer, and every consumer reads it
  in windows of one L1 row tile (input rows with halo, all columns and channels), two L2 slots.

A layer with anything in L3 gets the attribute

    dory.l3 = {weights = "stream" | "whole", chunk = C, inputs_l3 = array<i64: 1>, output_l3 = 1, l2 = B}

(`chunk` only when streaming, `inputs_l3` / `output_l3` only when set; B: the layer's own L2
buffers); the others are left alone. When no placement fits, the pass fails with a one-line
message naming the step, the bytes live there and the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, DictionaryAttr, IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.ir import Attribute
from xdsl.passes import ModulePass

from dory_xdsl.analysis.kernel_layers import LAYER_OPS
from dory_xdsl.tiling.l3_planner import plan_l3
from dory_xdsl.analysis.l3_program import program_of
from dory_xdsl.tiling.l3_tiling import L3Model
from dory_xdsl.target import GAP8

L3_ATTR = "dory.l3"
LOWERED = L3Model(lowered_only=True)


@dataclass(frozen=True)
class QnnL3TilePass(ModulePass):
    name = "qnn-l3-tile"

    l2_bytes: int = GAP8.l2_activation_bytes
    """L2 bytes available to activations and parameters (512,000 minus the code reservation)."""
    activations_l3: bool = True
    """Whether activations may live in L3 when they do not fit L2 (false: only parameters stream)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from dory_xdsl.analysis.interpreter import main_function

        program = program_of(op)
        plan = plan_l3(program, self.l2_bytes, LOWERED, upgrades=0, activations_l3=self.activations_l3)
        layers = [o for o in main_function(op).body.block.ops if isinstance(o, LAYER_OPS)]
        for index, layer_op in enumerate(layers):
            tiling = plan.tilings[f"layer{index}"]
            placement = tiling.placement
            streamed = tiling.weights_mode == "stream"
            if not (streamed or any(placement.inputs_l3) or placement.output_l3):
                layer_op.attributes.pop(L3_ATTR, None)
                continue
            entries: dict[str, Attribute] = {"weights": StringAttr("stream" if streamed else "whole")}
            if streamed:
                entries["chunk"] = IntegerAttr(tiling.channels, i64)
            if any(placement.inputs_l3):
                entries["inputs_l3"] = DenseArrayBase.from_list(i64, [int(f) for f in placement.inputs_l3])
            if placement.output_l3:
                entries["output_l3"] = IntegerAttr(1, i64)
            entries["l2"] = IntegerAttr(tiling.l2_bytes, i64)
            layer_op.attributes[L3_ATTR] = DictionaryAttr(entries)
