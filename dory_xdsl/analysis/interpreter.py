"""Evaluate a `qnn` module on numpy inputs with the bit-exact semantics of `dory_xdsl.semantics.reference`.

`evaluate(module, inputs)` walks `func.func @main` in order and computes every SSA value. It
accepts the IR before and after fusion (requantization inside `qnn.conv2d` / `qnn.linear`) and
in both layouts ("nchw" with OIHW conv weights, "nhwc" with OHWI weights): layout conversion
happens here, the arithmetic is in `reference.py` on HWC data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from dory_xdsl.semantics import reference
from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.tensors import numpy_dtype, to_numpy

NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)


@dataclass
class Evaluation:
    """Result of `evaluate`: the function's outputs and the value of every SSA value."""

    outputs: list[np.ndarray]
    values: dict[SSAValue, np.ndarray] = field(default_factory=dict)


def main_function(module: ModuleOp) -> func.FuncOp:
    """The `func.func @main` of `module` (or its only function)."""
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    for f in funcs:
        if f.sym_name.data == "main":
            return f
    if len(funcs) == 1:
        return funcs[0]
    raise DoryError("module has no func.func @main to evaluate")


def result_dtype(value: SSAValue) -> np.dtype:
    if not isinstance(value.type, TensorType):
        raise DoryError(f"value %{value.name_hint or '?'} is not a tensor: {value.type}")
    return numpy_dtype(value.type.element_type)


def _describe(op: Operation) -> str:
    hints = [f"%{r.name_hint}" for r in op.results if r.name_hint]
    return f"{op.name} {' '.join(hints)}".strip()


def prepare_input(array: np.ndarray, t: Attribute, index: int) -> np.ndarray:
    """Check `array` against the tensor type `t` of input `index` and convert it to its dtype
    (a one-line `DoryError` when a value does not fit: never a wrap). Every engine checks its
    inputs with it. Float arrays are accepted when they hold integers (ONNX graphs take float
    containers)."""
    array = np.asarray(array)
    assert isinstance(t, TensorType)
    shape = tuple(t.get_shape())
    if array.shape != shape:
        raise DoryError(f"input {index}: shape {list(array.shape)} does not match the model input {list(shape)}")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.floor(array)):
            raise DoryError(f"input {index}: float input holds non-integer values")
        array = array.astype(np.int64)
    elif array.dtype.kind not in "iub":
        raise DoryError(f"input {index}: unsupported dtype {array.dtype}")
    try:
        return reference.cast_exact(array, numpy_dtype(t.element_type), f"input {index}")
    except ValueError as error:
        raise DoryError(str(error)) from None


def _to_hwc(x: np.ndarray, layout: str) -> np.ndarray:
    return x.transpose(NCHW_TO_NHWC) if layout == "nchw" else x


def _from_hwc(x: np.ndarray, layout: str) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(NHWC_TO_NCHW)) if layout == "nchw" else x


def _ints(arr) -> tuple[int, ...]:
    return tuple(int(v) for v in arr.get_values())


class _Evaluator:
    def __init__(self) -> None:
        self.values: dict[SSAValue, np.ndarray] = {}

    def get(self, value: SSAValue | None) -> np.ndarray | None:
        if value is None:
            return None
        return self.values[value]

    def maybe_requant(self, op: qnn.Conv2dOp | qnn.LinearOp, acc: np.ndarray, axis: int) -> np.ndarray:
        if op.requant is None:
            return acc
        k = op.k
        assert k is not None and isinstance(k.type, TensorType)
        wide = isinstance(k.type.element_type, IntegerType) and k.type.element_type.width.data == 64
        rq = op.requant
        return reference.requantize(
            acc, self.get(k), self.get(op.lambda_), rq.shift.data, rq.lo.data, rq.hi.data, wide, axis
        )

    def conv2d(self, op: qnn.Conv2dOp) -> np.ndarray:
        layout = op.layout.data
        x = _to_hwc(self.get(op.input), layout)
        w = self.get(op.weight)
        if layout == "nchw":
            w = w.transpose(0, 2, 3, 1)  # OIHW -> OHWI
        acc = reference.conv2d_acc(
            x, w, self.get(op.bias), _ints(op.strides), _ints(op.pads), _ints(op.dilations),
            op.group.value.data,
        )
        return _from_hwc(self.maybe_requant(op, acc, 3), layout)

    def linear(self, op: qnn.LinearOp) -> np.ndarray:
        acc = reference.linear_acc(self.get(op.input), self.get(op.weight), self.get(op.bias))
        return self.maybe_requant(op, acc, 1)

    def requant(self, op: qnn.RequantOp) -> np.ndarray:
        k = op.k.type
        assert isinstance(k, TensorType) and isinstance(k.element_type, IntegerType)
        rq = op.requant
        return reference.requantize(
            self.get(op.input), self.get(op.k), self.get(op.lambda_), rq.shift.data, rq.lo.data,
            rq.hi.data, k.element_type.width.data == 64, op.axis.value.data,
        )

    def add(self, op: qnn.AddOp) -> np.ndarray:
        params = {name: op.param(name) for name in qnn.AddOp.PARAMS}
        return reference.add(self.get(op.lhs), self.get(op.rhs), **params)

    def maxpool(self, op: qnn.MaxPoolOp) -> np.ndarray:
        layout = op.layout.data
        out = reference.maxpool(
            _to_hwc(self.get(op.input), layout), _ints(op.kernel), _ints(op.strides), _ints(op.pads)
        )
        return _from_hwc(out, layout)

    def avgpool(self, op: qnn.AvgPoolOp) -> np.ndarray:
        layout = op.layout.data
        out = reference.avgpool(
            _to_hwc(self.get(op.input), layout), _ints(op.kernel), _ints(op.strides), _ints(op.pads),
            mul=op.mul.value.data, add=op.add.value.data, shift=op.shift.value.data,
            lo=op.lo.value.data, hi=op.hi.value.data,
        )
        return _from_hwc(out, layout)

    def concat(self, op: qnn.ConcatOp) -> np.ndarray:
        return np.concatenate([self.get(v) for v in op.inputs], axis=op.axis.value.data)

    def reshape(self, op: qnn.ReshapeOp) -> np.ndarray:
        t = op.result.type
        assert isinstance(t, TensorType)
        return self.get(op.input).reshape(tuple(t.get_shape()))

    def transpose(self, op: qnn.TransposeOp) -> np.ndarray:
        return np.ascontiguousarray(self.get(op.input).transpose(_ints(op.perm)))

    def slice(self, op: qnn.SliceOp) -> np.ndarray:
        t = op.result.type
        assert isinstance(t, TensorType)
        index = tuple(slice(o, o + s) for o, s in zip(_ints(op.offsets), t.get_shape()))
        return np.ascontiguousarray(self.get(op.input)[index])

    def constant(self, op: qnn.ConstantOp) -> np.ndarray:
        return to_numpy(op.value)


_HANDLERS: dict[type[Operation], Callable[[_Evaluator, Operation], np.ndarray]] = {
    qnn.ConstantOp: _Evaluator.constant,
    qnn.Conv2dOp: _Evaluator.conv2d,
    qnn.LinearOp: _Evaluator.linear,
    qnn.RequantOp: _Evaluator.requant,
    qnn.AddOp: _Evaluator.add,
    qnn.MaxPoolOp: _Evaluator.maxpool,
    qnn.AvgPoolOp: _Evaluator.avgpool,
    qnn.ConcatOp: _Evaluator.concat,
    qnn.ReshapeOp: _Evaluator.reshape,
    qnn.TransposeOp: _Evaluator.transpose,
    qnn.SliceOp: _Evaluator.slice,
}


def evaluate(module: ModuleOp, inputs: Sequence[np.ndarray]) -> Evaluation:
    """Run `func.func @main` of `module` on `inputs` (one array per function argument).

    Raises `DoryError` for inputs that do not match the signature and for ops it cannot run."""
    main = main_function(module)
    block = main.body.block
    if len(inputs) != len(block.args):
        raise DoryError(f"the model takes {len(block.args)} input(s), got {len(inputs)}")
    ev = _Evaluator()
    for index, (arg, array) in enumerate(zip(block.args, inputs)):
        ev.values[arg] = prepare_input(array, arg.type, index)
    for op in block.ops:
        if isinstance(op, func.ReturnOp):
            outputs = [ev.values[v] for v in op.arguments]
            return Evaluation(outputs=outputs, values=ev.values)
        handler = _HANDLERS.get(type(op))
        if handler is None:
            raise DoryError(f"{_describe(op)}: the reference interpreter cannot evaluate this op")
        out = handler(ev, op)
        (result,) = op.results
        dtype = result_dtype(result)
        try:
            ev.values[result] = reference.cast_exact(out, dtype, _describe(op))
        except ValueError as error:
            raise DoryError(str(error)) from None
    raise DoryError(f"func.func @{main.sym_name.data} has no func.return")
