"""`dory run MODEL.onnx --golden FILE.npz`: check a model against TFLite golden data.

The `.npz` holds `input__<case>` (the int8 input, as the ONNX graph takes it),
`output_tflm__<case>` (the TensorFlow Lite Micro output) and, for one case,
`act_litert_ref__<case>__<tensor>` (every intermediate tensor of the TFLite reference kernels,
named by TFLite tensor name, NHWC). For every case the model runs on the chosen engine (inputs
and outputs shifted by the offsets `@main` records, see `offsets`); when
`@main` records a final softmax (`qnn.softmax_tail`, see `dory_xdsl.frontend.qdq_import`), engines that
return the logits (reference, tiled) have it applied by `qdq_softmax.softmax_int8`; the host
engine's C applies it itself on the fabric controller (`engines.APPLIES_SOFTMAX_TAIL`). Printed:

    case <name>: max |diff| <d>, argmax <ok | ours i, golden j>
    layer <n> <op> '<tensor>': max |diff| <d> over <count> values      (first mapped case)
    golden: M/N cases within <t> LSB (engine <name>)

Layers are mapped through the `qnn.onnx_tensor` attribute the QDQ importer puts on the op
producing each quantized ONNX tensor; IR values held in the unsigned domain (`ui8` for an int8
tensor) are shifted back by 128 before comparing. Exit status 0 when every case is within the
tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects.builtin import DictionaryAttr, IntegerType, ModuleOp, Signedness

from dory_xdsl.errors import DoryError
from dory_xdsl.tensors import numpy_dtype

if TYPE_CHECKING:
    from dory_xdsl.lowering.pipeline import CompileOptions

INPUT, OUTPUT, ACT = "input__", "output_tflm__", "act_litert_ref__"


@dataclass
class MappedLayer:
    index: int
    op: str
    tensor: str
    shift: int  # subtract from the IR value to get the ONNX value


def read_npz(path: str) -> dict[str, np.ndarray]:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise DoryError(f"{path}: a single array, not a golden .npz archive")
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error).splitlines()[0]
        raise DoryError(f"{path}: cannot read the golden file ({why})") from None


def cases(arrays: dict[str, np.ndarray], path: str) -> list[str]:
    names = [key[len(INPUT):] for key in arrays if key.startswith(INPUT)]
    if not names:
        raise DoryError(f"{path}: no '{INPUT}<case>' arrays")
    for name in names:
        if OUTPUT + name not in arrays:
            raise DoryError(f"{path}: case '{name}' has no '{OUTPUT}{name}'")
    return names


def mapped_layers(module: ModuleOp) -> list[MappedLayer]:
    """The DORY layers whose output is a named quantized ONNX tensor."""
    from dory_xdsl.analysis.dory_layers import dory_layers
    from dory_xdsl.frontend.qdq_emit import TENSOR_ATTR

    mapped = []
    for layer in dory_layers(module):
        owner = layer.output.owner
        attr = owner.attributes.get(TENSOR_ATTR) or layer.op.attributes.get(TENSOR_ATTR)
        if attr is None:
            continue
        elem = layer.output.type.element_type  # type: ignore[union-attr]
        unsigned = isinstance(elem, IntegerType) and elem.signedness.data == Signedness.UNSIGNED
        mapped.append(MappedLayer(layer.index, layer.op.name, attr.data, 128 if unsigned else 0))  # type: ignore[union-attr]
    return mapped


def softmax_tail(module: ModuleOp):
    from dory_xdsl.analysis.interpreter import main_function
    from dory_xdsl.frontend.qdq_import import SOFTMAX_ATTR
    from dory_xdsl.semantics.qdq_softmax import SoftmaxTail

    attr = main_function(module).attributes.get(SOFTMAX_ATTR)
    if not isinstance(attr, DictionaryAttr):
        return None
    params = {key: value.value.data for key, value in attr.data.items()}  # type: ignore[union-attr]
    if params["output_scale"] != 1 / 256 or params["output_zero_point"] != -128:
        raise DoryError(f"the final softmax output is quantized with scale {params['output_scale']}, zero point "
                        f"{params['output_zero_point']}; only 1/256 and -128 (TFLite int8) are supported")
    return SoftmaxTail(params["input_scale"], params["beta"])


def offsets(module: ModuleOp) -> tuple[int, int]:
    """(added to the golden input, subtracted from the first output): the QDQ importer holds
    int8 tensors as `ui8` + 128 (`qnn.input_offsets` / `qnn.output_offsets` on `@main`)."""
    from dory_xdsl.analysis.interpreter import main_function
    from dory_xdsl.frontend.qdq_import import INPUT_OFFSETS, OUTPUT_OFFSETS

    main = main_function(module)
    found = []
    for name in (INPUT_OFFSETS, OUTPUT_OFFSETS):
        attr = main.attributes.get(name)
        values = list(attr.get_values()) if attr is not None else []  # type: ignore[union-attr]
        found.append(int(values[0]) if values else 0)
    return found[0], found[1]


def _as_golden(array: np.ndarray, golden: np.ndarray, shift: int) -> np.ndarray | None:
    """`array` (engine layout: NCHW for 4-D) in the golden tensor's layout (NHWC), or None."""
    values = np.asarray(array, dtype=np.int64) - shift
    if values.ndim == 4 and golden.ndim == 4:
        values = values.transpose(0, 2, 3, 1)
    if values.size != golden.size:
        return None
    return values.reshape(golden.shape)


def isolated_diffs(module: ModuleOp, x: np.ndarray, golden: dict[str, np.ndarray]) -> dict[str, int]:
    """Per named tensor, the max |diff| of its op against the golden tensor when every named
    tensor it reads is replaced by its golden value: each layer's own arithmetic, without the
    differences inherited from earlier layers (reference interpreter)."""
    from dory_xdsl.semantics import reference
    from dory_xdsl.analysis.interpreter import _HANDLERS, _Evaluator, main_function, prepare_input, result_dtype
    from dory_xdsl.frontend.qdq_emit import TENSOR_ATTR

    block = main_function(module).body.block
    ev = _Evaluator()
    ev.values[block.args[0]] = prepare_input(x, block.args[0].type, 0)
    diffs: dict[str, int] = {}
    for op in block.ops:
        handler = _HANDLERS.get(type(op))
        if handler is None:
            break
        (result,) = op.results
        value = reference.cast_exact(handler(ev, op), result_dtype(result), op.name)
        attr = op.attributes.get(TENSOR_ATTR)
        gold = golden.get(attr.data) if attr is not None else None  # type: ignore[union-attr]
        if gold is not None:
            elem = result.type.element_type  # type: ignore[union-attr]
            shift = 128 if elem.signedness.data == Signedness.UNSIGNED else 0
            ours = _as_golden(value, gold, shift)
            if ours is not None:
                diffs[attr.data] = max_diff(ours, gold)  # type: ignore[union-attr]
                back = gold.astype(np.int64) + shift
                value = (back.transpose(0, 3, 1, 2) if back.ndim == 4 else back).reshape(value.shape)
                value = value.astype(result_dtype(result))
        ev.values[result] = value
    return diffs


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.max(np.abs(a.astype(np.int64) - b.astype(np.int64)))) if a.size else 0


def checked_cases(path: str, arrays: dict[str, np.ndarray], names: list[str], shape: tuple[int, ...],
                  dtype: np.dtype, in_offset: int) -> dict[str, np.ndarray]:
    """Every case's input as the model takes it (`tensors.checked_input`: integer-valued, in
    range after the offset, the model's size) and integer golden outputs, before any engine runs."""
    from dory_xdsl.tensors import checked_input

    inputs = {}
    for name in names:
        x, gold = arrays[INPUT + name], arrays[OUTPUT + name]
        where = f"{path}: input '{INPUT}{name}'"
        if x.size != int(np.prod(shape)):
            raise DoryError(f"{where} has shape {list(x.shape)}, the model takes {list(shape)}")
        if x.dtype.kind == "f":
            x = checked_input(x, np.dtype(np.int64), x.shape, where)
        if x.dtype.kind not in "iu":
            raise DoryError(f"{where}: element type {x.dtype} is not an integer type")
        inputs[name] = checked_input(x.reshape(shape).astype(np.int64) + in_offset, dtype, shape, where)
        if gold.dtype.kind not in "iu":
            checked_input(gold, np.dtype(np.int64), gold.shape, f"{path}: output '{OUTPUT}{name}'")
    return inputs


def run_npz(path: str, module: ModuleOp, engine_name: str, tolerance: int,
            options: CompileOptions | None = None) -> int:
    """Run every case of `path` on the engine prepared once (`engines.prepare_engine`: lowering
    and tiling are not repeated per case); print the report; 0 when all cases are within
    `tolerance`."""
    from dory_xdsl.engines.registry import APPLIES_SOFTMAX_TAIL, prepare_engine
    from dory_xdsl.analysis.interpreter import main_function

    arrays = read_npz(path)
    names = cases(arrays, path)
    args = main_function(module).body.block.args
    if len(args) != 1:
        raise DoryError(f"the model takes {len(args)} inputs; the golden file holds one per case")
    shape = tuple(args[0].type.get_shape())  # type: ignore[union-attr]
    in_offset, out_offset = offsets(module)
    tail = softmax_tail(module)
    layers = mapped_layers(module)
    inputs = checked_cases(path, arrays, names, shape, numpy_dtype(args[0].type.element_type), in_offset)
    engine = prepare_engine(engine_name, module, options)
    passed = 0
    for name in names:
        x = inputs[name]
        result = engine([x])
        out = np.asarray(result.outputs[0]).astype(np.int64) - out_offset
        if tail is not None and engine_name not in APPLIES_SOFTMAX_TAIL:
            from dory_xdsl.semantics.qdq_softmax import softmax_int8

            out = softmax_int8(out, tail)
        gold = arrays[OUTPUT + name]
        if out.size != gold.size:
            raise DoryError(f"case '{name}': the model output has {out.size} values, the golden output {gold.size}")
        out = out.reshape(gold.shape)
        diff = max_diff(out, gold)
        ours, theirs = int(np.argmax(out)), int(np.argmax(gold))
        agree = "ok" if ours == theirs else f"ours {ours}, golden {theirs}"
        passed += diff <= tolerance and ours == theirs
        print(f"case {name}: max |diff| {diff}, argmax {agree}")
        prefix = f"{ACT}{name}__"
        if any(key.startswith(prefix) for key in arrays):
            named = {key[len(prefix):]: array for key, array in arrays.items() if key.startswith(prefix)}
            isolated = isolated_diffs(module, x, named)
            for layer in layers:
                golden = arrays.get(prefix + layer.tensor)
                if golden is None:
                    continue
                values = _as_golden(result.layers[layer.index], golden, layer.shift)
                if values is None:
                    print(f"layer {layer.index} {layer.op} '{layer.tensor}': shape {list(golden.shape)} does not match")
                    continue
                alone = isolated.get(layer.tensor)
                print(f"layer {layer.index} {layer.op} '{layer.tensor}': max |diff| {max_diff(values, golden)} "
                      f"over {golden.size} values" + ("" if alone is None else f" ({alone} from the golden inputs)"))
    print(f"golden: {passed}/{len(names)} cases within {tolerance} LSB (engine {engine_name})")
    return 0 if passed == len(names) else 1
