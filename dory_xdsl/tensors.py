"""numpy <-> xDSL conversions for integer tensors, always through raw bytes (never Python lists)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    IntegerType,
    Signedness,
    TensorType,
)
from xdsl.ir import Attribute

_SIGNED = {8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}
_UNSIGNED = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


def numpy_dtype(elem: Attribute) -> np.dtype:
    """numpy dtype of an integer element type (`uiN` unsigned, `iN`/`siN` signed)."""
    if not isinstance(elem, IntegerType) or elem.width.data not in _SIGNED:
        raise ValueError(f"unsupported element type {elem}")
    table = _UNSIGNED if elem.signedness.data == Signedness.UNSIGNED else _SIGNED
    return np.dtype(table[elem.width.data])


def element_type(dtype: np.dtype | type) -> IntegerType:
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise ValueError(f"not an integer dtype: {dtype}")
    signedness = Signedness.UNSIGNED if dtype.kind == "u" else Signedness.SIGNLESS
    return IntegerType(dtype.itemsize * 8, signedness)


def tensor_type(shape: tuple[int, ...] | list[int], dtype: np.dtype | type) -> TensorType:
    return TensorType(element_type(dtype), list(shape))


def dense_attr(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    """A dense elements attribute holding `array` (integer dtype), built from its bytes."""
    array = np.asarray(array)
    ttype = tensor_type(array.shape, array.dtype)
    data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    return DenseIntOrFPElementsAttr(ttype, BytesAttr(data))


def to_numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """The integer array held by a dense elements attribute, with its shape."""
    dtype = numpy_dtype(attr.get_element_type()).newbyteorder("<")
    return np.frombuffer(attr.data.data, dtype=dtype).astype(dtype.newbyteorder("=")).reshape(
        attr.get_shape()
    )
