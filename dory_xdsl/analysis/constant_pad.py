"""Explicit spatial padding of an activation with a constant value, as `qnn` ops.

The conv and pooling ops pad with 0 in the domain of their input. When the value that stands
for a real 0 is not 0 there (a TFLite zero point; the 128 of a signed activation held as `ui8`
value + 128), the padding is made explicit: `qnn.concat` of the activation and constant blocks
filled with that value, along H and then W, and the consumer gets no padding of its own. The
back end lowers such concats to fills of the L1 tile (`dory.fill`) or whole-tensor copies.
Used by the QDQ importer and by `qnn-offset-int8`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from dory_xdsl.dialects import qnn
from dory_xdsl.tensors import dense_attr, numpy_dtype


def pad_with_constant(value: SSAValue, pads: Sequence[int], fill: int, axes: tuple[int, int],
                      emit: Callable[[Operation], SSAValue]) -> SSAValue:
    """`value` padded by `pads` = (top, left, bottom, right) along `axes` = (H axis, W axis)
    with `fill`; `emit(op)` inserts each new op and returns its result."""
    t = value.type
    assert isinstance(t, TensorType)
    elem, shape = t.element_type, list(t.get_shape())
    dtype = numpy_dtype(elem)
    for axis, before, after in ((axes[0], pads[0], pads[2]), (axes[1], pads[1], pads[3])):
        parts = []
        for size in (before, None, after):
            if size is None:
                parts.append(value)
            elif size:
                block = list(shape)
                block[axis] = size
                parts.append(emit(qnn.ConstantOp(dense_attr(np.full(block, fill, dtype=dtype)))))
        shape[axis] += before + after
        if len(parts) > 1:
            value = emit(qnn.ConcatOp(parts, axis, TensorType(elem, shape)))
    return value
