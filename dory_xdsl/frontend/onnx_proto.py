"""The parts of the `onnx` package the importers use, without `import onnx`.

`import onnx` costs about 1 s of CPU on this machine (4 s under load), nearly all of it in
`ml_dtypes`, which `onnx.helper` pulls in for float8/int4 element types no integer graph of
ours uses. The importers only need the protobuf classes (`onnx_ml_pb2`, plain generated
protobuf code), ONNX's shape inference (a function of the C++ extension
`onnx_cpp2py_export`, taking and returning serialized models), attribute values and
initializers as numpy arrays. `onnx_pb()` loads just those two modules of the installed
`onnx` distribution, registered under their own names in `sys.modules`, so a later `import
onnx` in the same process reuses them (the classes are the very same objects). If `onnx` is
already imported, or the light load fails for any reason, it is the real package.

`to_array` and `attribute_value` decode the common cases directly (same results as
`onnx.numpy_helper.to_array` / `onnx.helper.get_attribute_value`, checked by a test over every
shared model) and hand anything else (external data, strings, 16-bit floats, ...) to `onnx`.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

_PB2 = "onnx.onnx_ml_pb2"
_CPP = "onnx.onnx_cpp2py_export"


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@functools.cache
def _modules() -> tuple[ModuleType, ModuleType]:
    """(onnx_ml_pb2, onnx_cpp2py_export): loaded alone, or from `onnx` when that is imported."""
    if "onnx" not in sys.modules:
        try:
            spec = importlib.util.find_spec("onnx")
            root = Path(next(iter(spec.submodule_search_locations)))  # type: ignore[union-attr, arg-type]
            extension = next(root.glob("onnx_cpp2py_export.*.so"), None) or next(root.glob("onnx_cpp2py_export*.pyd"))
            cpp = _load(_CPP, extension)
            if getattr(cpp, "ONNX_ML", True):
                return _load(_PB2, root / "onnx_ml_pb2.py"), cpp
        except Exception:  # an unusual installation: use the package
            pass
    import onnx
    import onnx.onnx_cpp2py_export as cpp

    return onnx.onnx_pb, cpp  # type: ignore[attr-defined]


def onnx_pb() -> ModuleType:
    """The module with `ModelProto`, `TensorProto`, `NodeProto`, ... (ONNX's generated protobuf)."""
    return _modules()[0]


def newest_opset() -> int:
    """`onnx.defs.onnx_opset_version()`: the newest opset of the default domain this onnx knows."""
    return _modules()[1].defs.schema_version_map()[""][1]


def load_model(data: bytes):
    """`onnx.load_model_from_string`: a `ModelProto` parsed from bytes (protobuf errors propagate)."""
    model = onnx_pb().ModelProto()
    model.ParseFromString(data)
    return model


def infer_shapes(model):
    """`onnx.shape_inference.infer_shapes(model)` with its defaults (no type check, not strict,
    no data propagation)."""
    inferred = _modules()[1].shape_inference.infer_shapes(model.SerializeToString(), False, False, False)
    return load_model(inferred)


def _numpy_types() -> dict[int, tuple[np.dtype, str]]:
    """TensorProto element type -> (numpy dtype, the repeated field holding it without raw_data)."""
    t = onnx_pb().TensorProto
    return {
        t.FLOAT: (np.dtype(np.float32), "float_data"), t.DOUBLE: (np.dtype(np.float64), "double_data"),
        t.INT8: (np.dtype(np.int8), "int32_data"), t.UINT8: (np.dtype(np.uint8), "int32_data"),
        t.INT16: (np.dtype(np.int16), "int32_data"), t.UINT16: (np.dtype(np.uint16), "int32_data"),
        t.INT32: (np.dtype(np.int32), "int32_data"), t.INT64: (np.dtype(np.int64), "int64_data"),
        t.UINT32: (np.dtype(np.uint32), "uint64_data"), t.UINT64: (np.dtype(np.uint64), "uint64_data"),
        t.BOOL: (np.dtype(np.bool_), "int32_data"),
    }


def to_array(tensor) -> np.ndarray:
    """`onnx.numpy_helper.to_array(tensor)` for numeric tensors stored in the model."""
    known = _numpy_types().get(tensor.data_type)
    if known is None or tensor.data_location == onnx_pb().TensorProto.EXTERNAL or tensor.segment.end:
        from onnx import numpy_helper

        return numpy_helper.to_array(tensor)
    dtype, field = known
    shape = tuple(tensor.dims)
    if tensor.HasField("raw_data"):
        return np.frombuffer(tensor.raw_data, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    return np.asarray(getattr(tensor, field)).astype(dtype).reshape(shape)


def attribute_value(attr):
    """`onnx.helper.get_attribute_value(attr)`."""
    a = onnx_pb().AttributeProto
    single = {a.FLOAT: "f", a.INT: "i", a.STRING: "s", a.TENSOR: "t", a.GRAPH: "g"}
    repeated = {a.FLOATS: "floats", a.INTS: "ints", a.STRINGS: "strings", a.TENSORS: "tensors", a.GRAPHS: "graphs"}
    if attr.type in single:
        return getattr(attr, single[attr.type])
    if attr.type in repeated:
        return list(getattr(attr, repeated[attr.type]))
    from onnx import helper

    return helper.get_attribute_value(attr)
