"""`qnn-l3-tile`: decide, under the L2 budget, which layers stream their parameters from L3.

Expects tiled qnn IR (after `qnn-tile`: every layer op carries `dory.tiling`) in `func.func
@main`. Builds the program of @main (`dory_xdsl.l3_program`) and runs the L3 planner
(`dory_xdsl.l3_planner`) with the L2 budget `l2-bytes`, restricted to what
`convert-qnn-to-dory` lowers: activations stay in L2, parameters are copied whole before their
layer, or streamed from L3 in chunks of exactly the layer's L1 channel tile (two L2 chunk
buffers alternate: the next chunk is read while the current one feeds L1). Each layer takes the
option with the fewest modelled cycles that fits (streaming hides the L3 reads behind compute, so
it is usually chosen for layers with several channel tiles, not only when L2 is short). A layer
that streams gets the attribute

    dory.l3 = {weights = "stream", chunk = C, l2 = B}

(C output channels per chunk, B bytes of L2 chunk buffers); the others are left alone. When the
live activations alone exceed the budget at some layer, the pass fails with a one-line message
naming it (moving activations to L3 is planned by `l3_planner` but not lowered yet).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.passes import ModulePass

from dory_xdsl.kernel_layers import LAYER_OPS
from dory_xdsl.l3_planner import plan_l3
from dory_xdsl.l3_program import program_of
from dory_xdsl.l3_tiling import L3Model
from dory_xdsl.target import GAP8

L3_ATTR = "dory.l3"
LOWERED = L3Model(lowered_only=True)


@dataclass(frozen=True)
class QnnL3TilePass(ModulePass):
    name = "qnn-l3-tile"

    l2_bytes: int = GAP8.l2_activation_bytes
    """L2 bytes available to activations and parameters (512,000 minus the code reservation)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from dory_xdsl.interpreter import main_function

        program = program_of(op)
        plan = plan_l3(program, self.l2_bytes, LOWERED, upgrades=0, activations_l3=False)
        layers = [o for o in main_function(op).body.block.ops if isinstance(o, LAYER_OPS)]
        for index, layer_op in enumerate(layers):
            tiling = plan.tilings[f"layer{index}"]
            if tiling.weights_mode != "stream":
                layer_op.attributes.pop(L3_ATTR, None)
                continue
            layer_op.attributes[L3_ATTR] = DictionaryAttr({
                "weights": StringAttr("stream"), "chunk": IntegerAttr(tiling.channels, i64),
                "l2": IntegerAttr(tiling.l2_bytes, i64),
            })
