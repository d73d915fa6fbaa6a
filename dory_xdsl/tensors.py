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


def checked_input(array: np.ndarray, dtype: np.dtype, shape: tuple[int, ...], where: str) -> np.ndarray:
    """`array` as a network input of integer `dtype` and `shape`, or a `DoryError` naming `where`.

    Every engine and `dory compile` take inputs through this: integer or bool-free real arrays
    only, float arrays must hold integers (x + 0.5 is refused, not rounded), every value must fit
    `dtype` (no silent wrap-around) and the shape must be the model's.
    """
    from dory_xdsl.errors import DoryError

    array = np.asarray(array)
    dtype = np.dtype(dtype)
    if array.dtype.kind not in "iuf":
        raise DoryError(f"{where}: element type {array.dtype} is not a number type the network takes "
                        f"(integers in {dtype.name})")
    if tuple(array.shape) != tuple(shape):
        raise DoryError(f"{where}: shape {list(array.shape)}, the model takes {list(shape)}")
    if array.size == 0:
        return array.astype(dtype)
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array) | (np.floor(array) != array)
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise DoryError(f"{where}: {array.dtype} input holds non-integer values "
                            f"({array.reshape(-1)[index]} at flat index {index})")
    info = np.iinfo(dtype)
    lo, hi = array.min(), array.max()
    if lo < info.min or hi > info.max:
        raise DoryError(f"{where}: values in [{lo:.0f}, {hi:.0f}] do not fit {dtype.name} ([{info.min}, {info.max}])")
    return array.astype(dtype)
