"""The `dory_xdsl.tiling.l3_planner.Program` of a tiled qnn module (after `qnn-tile`).

Every op of `func.func @main` is one step, in program order: a layer op (`LAYER_OPS`) with its
`LayerGeometry` (`dory_xdsl.analysis.kernel_layers`), the L1 tile sizes and modelled cycles of its
`dory.tiling`; any other op (reshape, transpose, slice, concat) an L2 data step. Tensors are
@main's SSA values (arguments and op results), with their sizes in bytes. A layer's qnn constants
are its parameters, not tensors; a constant operand of a data step (the zero-point padding of a
QDQ conv input) is a tensor with no producer, so the planner keeps it in L2 from the start of the
network (an upper bound: `convert-qnn-to-dory` fills it just before its first user).
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import SSAValue

from dory_xdsl.dialects import dory, qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.kernel_layers import LAYER_OPS, kernel_layer
from dory_xdsl.tiling.l3_planner import Program, Step
from dory_xdsl.tiling.tiles import TileSizes


def tensor_bytes(t: TensorType) -> int:
    count = 1
    for d in t.get_shape():
        count *= d
    return count * (t.element_type.width.data // 8)  # type: ignore[attr-defined]


def program_of(module: ModuleOp) -> Program:
    from dory_xdsl.analysis.interpreter import main_function

    main = main_function(module)
    names: dict[SSAValue, str] = {}
    sizes: list[tuple[str, int]] = []

    def name(v: SSAValue) -> str:
        if v not in names:
            names[v] = f"t{len(names)}"
            sizes.append((names[v], tensor_bytes(v.type)))  # type: ignore[arg-type]
        return names[v]

    inputs = tuple(name(a) for a in main.body.block.args)
    steps: list[Step] = []
    layer_index = 0
    outputs: tuple[str, ...] = ()
    for op in main.body.block.ops:
        if isinstance(op, qnn.ConstantOp):
            continue
        if isinstance(op, func.ReturnOp):
            outputs = tuple(name(v) for v in op.arguments)
            break
        if isinstance(op, LAYER_OPS):
            layer = kernel_layer(op, layer_index)
            tiling = op.attributes.get("dory.tiling")
            if not isinstance(tiling, dory.TilingAttr):
                raise DoryError(f"{op.name}: no dory.tiling attribute (run qnn-tile first)")
            acts = tuple(name(v) for v in layer.inputs)
            steps.append(Step(f"layer{layer_index}", acts, name(op.results[0]), layer.geometry,
                              TileSizes(*tiling.sizes), tiling.cycles.data))
            layer_index += 1
        else:
            steps.append(Step(f"{op.name}#{len(steps)}", tuple(map(name, op.operands)), name(op.results[0])))
    return Program(tuple(steps), tuple(sizes), inputs, outputs)
