"""The DORY layers of a `qnn` module: which op is DORY layer N, and each layer's output value.

DORY numbers the layers of a network (`out_layer<N>.txt`) in program order: a layer is a conv,
linear, add or pooling op, and its output is the value after the chain of `qnn.requant` ops that
consume it alone (the importer's requantization and ReLU clips). `layer_arrays` reads every layer's
output out of an evaluation, 4-D ones in NCHW (logical) layout whatever layout they were computed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import BlockArgument, Operation, SSAValue

from dory_xdsl.analysis.interpreter import NCHW_TO_NHWC, NHWC_TO_NCHW, main_function
from dory_xdsl.dialects import qnn

LAYER_OPS = (qnn.Conv2dOp, qnn.LinearOp, qnn.AddOp, qnn.MaxPoolOp, qnn.AvgPoolOp)


@dataclass
class Layer:
    """A DORY layer of the IR: its first op and the value holding its output."""

    index: int
    op: Operation
    output: SSAValue


def _single_requant_user(value: SSAValue) -> qnn.RequantOp | None:
    uses = list(value.uses)
    if len(uses) == 1 and isinstance(uses[0].operation, qnn.RequantOp) and uses[0].index == 0:
        return uses[0].operation
    return None


def dory_layers(module: ModuleOp) -> list[Layer]:
    """The DORY layers of `func.func @main`, numbered in program order (see the module doc)."""
    layers = []
    for op in main_function(module).body.block.ops:
        if isinstance(op, LAYER_OPS):
            output = op.results[0]
            while (requant := _single_requant_user(output)) is not None:
                output = requant.result
            layers.append(Layer(len(layers), op, output))
    return layers


def value_layout(value: SSAValue) -> str:
    """Layout of a 4-D activation: from the nearest producer with a `layout` property, through
    requant/add chains; function arguments are NCHW (as ONNX takes them)."""
    while True:
        if isinstance(value, BlockArgument):
            return "nchw"
        owner = value.owner
        layout = owner.properties.get("layout")
        if layout is not None:
            return layout.data  # type: ignore[union-attr]
        if isinstance(owner, qnn.TransposeOp):
            perm = tuple(owner.perm.get_values())
            return {NCHW_TO_NHWC: "nhwc", NHWC_TO_NCHW: "nchw"}.get(perm, "nchw")
        if not owner.operands:
            return "nchw"
        value = owner.operands[0]


def layer_arrays(module: ModuleOp, values: dict[SSAValue, np.ndarray]) -> list[np.ndarray]:
    """The output of every DORY layer of `module`, 4-D ones in NCHW (logical) layout."""
    arrays = []
    for layer in dory_layers(module):
        array = values[layer.output]
        if array.ndim == 4 and value_layout(layer.output) == "nhwc":
            array = array.transpose(NHWC_TO_NCHW)
        arrays.append(array)
    return arrays
