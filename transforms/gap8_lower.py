"""`gap8-lower`: the whole GAP-8 back end as one pass, from imported `qnn` IR to `dory` loop nests.

Expects a module as `dory_xdsl.frontend.onnx_import` produces it (unfused, "nchw" `qnn` ops in
`func.func @main`). Runs, in this order:

1. `qnn-offset-int8`    signed 8-bit activations -> ui8 bytes holding value + 128
2. `qnn-fuse-requant`   conv/linear + requant (+ ReLU-by-clip) -> one layer op
3. `qnn-merge-requant`  two chained requantizations -> one exact stage, where one exists
4. `qnn-to-nhwc`        HWC activations, Cout x Kh x Kw x Cin weights
5. `qnn-legalize-pulp`  ops with no single PULP-NN kernel -> exact sequences of kernel ops
6. `qnn-widen-requant`  one requant constant width for the build-wide PULP-NN variant
7. `qnn-tile`           Z3 tile choice per layer (options below are passed on)
8. `qnn-l3-tile`        layers whose parameters stream from L3 under the L2 budget (`l2-bytes`)
9. `convert-qnn-to-dory` explicit DMA / kernel-call code per layer

Each step is also a pass of its own, so `dory-opt -p` can run any prefix of the pipeline.
`BACKEND_PASSES` is the single definition of this order: `dory compile`, the tiled and the host
engines all run it through this pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from dory_xdsl.errors import DoryError

from dory_xdsl.target import GAP8

BACKEND_PASSES = (
    "qnn-offset-int8",
    "qnn-fuse-requant",
    "qnn-merge-requant",
    "qnn-to-nhwc",
    "qnn-legalize-pulp",
    "qnn-widen-requant",
    "qnn-tile",
    "qnn-l3-tile",
    "convert-qnn-to-dory",
)


@dataclass(frozen=True)
class Gap8LowerPass(ModulePass):
    name = "gap8-lower"

    l1_bytes: int = GAP8.l1_bytes
    """L1 budget per layer in bytes (DORY's 36,700 by default)."""
    objective: str = "cost"
    """Tiling objective: "cost" (modelled cycles) or "dory" (DORY's L1-fill objective)."""
    double_buffer: bool = True
    """Two copies of every tile buffer, so DMA overlaps compute."""
    timeout: float = 20.0
    """Wall-clock safety net per layer in seconds (the search itself is bounded by Z3 resource units)."""
    l2_bytes: int = GAP8.l2_activation_bytes
    """L2 bytes for activations and parameters (512,000 minus the code reservation)."""
    cache: str = ""
    """Folder of an on-disk cache of proved tilings, passed to qnn-tile; empty: none."""

    def steps(self) -> list[ModulePass]:
        """The passes this pipeline runs, configured, in order."""
        from dory_xdsl.transforms import PASSES
        from dory_xdsl.transforms.qnn_l3_tile import QnnL3TilePass
        from dory_xdsl.transforms.qnn_tile import QnnTilePass

        configured = {
            QnnTilePass.name: QnnTilePass(l1_bytes=self.l1_bytes, objective=self.objective,
                                          double_buffer=self.double_buffer, timeout=self.timeout,
                                          cache=self.cache),
            QnnL3TilePass.name: QnnL3TilePass(l2_bytes=self.l2_bytes),
        }
        return [configured.get(name) or PASSES[name]()() for name in BACKEND_PASSES]

    def __post_init__(self) -> None:
        from dory_xdsl.transforms.qnn_tile import check_tiling_options

        check_tiling_options(self.name, self.l1_bytes, self.objective, self.timeout)
        if self.l2_bytes < 1:
            raise DoryError(f"{self.name}: option l2-bytes={self.l2_bytes} must be positive")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        check_lowerable(op)
        for step in self.steps():
            step.apply(ctx, op)


def check_lowerable(module: ModuleOp) -> None:
    """Refuse an `@main` the back end cannot lower, naming it: dynamic dimensions (`?`), a
    result that is one of its arguments (nothing to compute, no buffer to plan), or constants
    (weights) that alone exceed the target's L3."""
    check_weights_fit_l3(module)
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ShapedType

    for function in module.ops:
        if not isinstance(function, func.FuncOp) or function.sym_name.data != "main":
            continue
        types = [("argument", i, t) for i, t in enumerate(function.function_type.inputs.data)]
        types += [("result", i, t) for i, t in enumerate(function.function_type.outputs.data)]
        for kind, index, type_ in types:
            if isinstance(type_, ShapedType) and any(d < 0 for d in type_.get_shape()):
                raise DoryError(f"func @main {kind} {index}: the shape {type_} has a dynamic dimension; "
                                f"the back end needs static shapes")
        if function.body.blocks and isinstance(function.body.block.last_op, func.ReturnOp):
            args = list(function.body.block.args)
            for index, value in enumerate(function.body.block.last_op.operands):
                if value in args:
                    raise DoryError(f"func @main result {index}: returns argument {args.index(value)} unchanged "
                                    f"(no layer computes it)")


def check_weights_fit_l3(module: ModuleOp) -> None:
    """Refuse a network whose constants alone exceed GAP-8's L3, naming the op using the largest."""
    from dory_xdsl.dialects import qnn
    from dory_xdsl.tensors import numpy_dtype

    total, largest = 0, (0, "")
    for op in module.walk():
        if isinstance(op, qnn.ConstantOp):
            size = op.result.type.element_count() * numpy_dtype(op.result.type.element_type).itemsize
            total += size
            user = next(iter(op.result.uses), None)
            largest = max(largest, (size, user.operation.name if user is not None else op.name))
    if total > GAP8.l3_bytes:
        raise DoryError(f"{largest[1]}: the network's weights and constants take {total} B, more than the "
                        f"{GAP8.l3_bytes} B of L3 (this op's: {largest[0]} B)")
