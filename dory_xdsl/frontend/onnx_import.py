"""ONNX import: NEMO / Quantlab integer-deployable graphs -> `qnn` IR.

Entry points: `import_onnx_bytes(data, name)` (used by `dory-opt model.onnx`) and
`import_onnx_file(path)`. The result is one `func.func @main` taking the graph inputs (NCHW, as
ONNX takes them, element type `ui8`, or `i8` for an int8 graph input or a float one named in
`signed_inputs`: graphs such as Deeploy's take int8 values in a float tensor) and returning the integer
tensors where the integer network ends. Trailing real-valued ops (`Sigmoid`, `LogSoftmax`, ...)
are dropped and listed in the func attribute `qnn.dropped_float_tail`.

How a graph is read (see `onnx_values` for the exact arithmetic model):
- conv / linear / pooling / reshapes become `qnn` ops; requantization chains
  (`Mul`, `Add`, `Div`, `Floor`, `Cast`, `Clip` in any of the exported variants) are tracked
  exactly as rational affine expressions and emitted as `qnn.requant` / `qnn.add` /
  `qnn.avgpool` where an integer tensor is needed; `Pad` folds into the next conv or pooling;
- a `Div` of an integer (`Cast` to int64) tensor truncates toward zero, a `Div` of a float
  tensor is exact and is rounded by the following `Floor` or `Cast`;
- nodes are visited in dataflow order from the graph outputs, so node order and tensor names
  do not change the result; shapes come from `onnx.shape_inference`.
Every unsupported or malformed input raises `DoryError` naming the node.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.errors import DoryError
from dory_xdsl.frontend.integer_graph import DROPPED_ATTR, FLOAT_INPUTS, Importer  # noqa: F401 (DROPPED_ATTR re-exported)
from dory_xdsl.frontend.onnx_graph import index_graph, parse_model
from dory_xdsl.frontend.qdq_import import import_qdq_with_results, is_qdq_model


def import_onnx_file(path: str | Path, signed_inputs: frozenset[int] = frozenset()) -> ModuleOp:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DoryError(f"{path}: cannot read ({error.strerror})") from None
    return import_onnx_bytes(data, str(path), signed_inputs)


def import_onnx_bytes(data: bytes, name: str, signed_inputs: frozenset[int] = frozenset(),
                      input_ranges: list[tuple[int, int]] | None = None) -> ModuleOp:
    return import_onnx_with_results(data, name, signed_inputs, input_ranges)[0]


def import_onnx_with_results(data: bytes, name: str, signed_inputs: frozenset[int] = frozenset(),
                             input_ranges: list[tuple[int, int]] | None = None) -> tuple[ModuleOp, list[str]]:
    """The module and, for each result of `@main`, the ONNX tensor it computes (for checking
    the import against onnxruntime on those tensors). `signed_inputs`: indices of float graph
    inputs that hold int8 values (typed `i8`; a float input is `ui8` otherwise).
    `input_ranges`: the integer range of each graph input when the graph's float containers do
    not say it (DORY's config `input_bits` / `input_signed`); it overrides `signed_inputs`."""
    model = parse_model(data, name)
    if is_qdq_model(model):
        if input_ranges is not None:
            raise DoryError(f"{name}: input ranges are given by the QDQ graph itself, not by a config")
        return import_qdq_with_results(model)
    importer = Importer(index_graph(model), signed_inputs, input_ranges)
    module = importer.run()
    return module, importer.results


def float_inputs(data: bytes, name: str) -> frozenset[int]:
    """Indices of the float graph inputs of an integer (non-QDQ) graph: the inputs that
    `signed_inputs` may type `i8`."""
    model = parse_model(data, name)
    if is_qdq_model(model):
        return frozenset()
    inits = {i.name for i in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in inits]
    return frozenset(i for i, v in enumerate(inputs) if v.type.tensor_type.elem_type in FLOAT_INPUTS)


def signed_float_inputs(data: bytes, name: str, arrays: Sequence[np.ndarray]) -> frozenset[int]:
    """The float graph inputs whose values in `arrays` include negative numbers: such an input
    holds int8 values (Deeploy's graphs take int8 values in float tensors, typed by the data)."""
    return frozenset(i for i in float_inputs(data, name)
                     if i < len(arrays) and np.size(arrays[i]) and np.min(arrays[i]) < 0)
