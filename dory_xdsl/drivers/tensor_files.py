"""Input and output tensors of `dory run` / `dory compile` as `.npy` / `.npz` files, and the
typing of float graph inputs by the data given for them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dory_xdsl.errors import DoryError


def load_inputs(path: str, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Arrays from an `.npy` (one graph input) or `.npz` (one array per input, in order); values
    are checked by `checked_inputs` once the model's input types are known."""
    import zipfile
    from pathlib import Path

    if Path(path).is_dir():
        raise DoryError(f"{path}: is a folder, not an .npy/.npz file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                arrays = [loaded[key] for key in loaded.files]
        else:
            arrays = [loaded]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error).splitlines()[0]
        raise DoryError(f"{path}: cannot read the input ({why})") from None
    if len(arrays) != len(shapes):
        raise DoryError(f"{path}: {len(arrays)} array(s), the model takes {len(shapes)} input(s)")
    for array in arrays:
        if array.dtype.kind not in "iuf":
            raise DoryError(f"{path}: element type {array.dtype} is not a number type the network takes")
    return arrays


def checked_inputs(where: str, arrays: Sequence[np.ndarray], types) -> list[np.ndarray]:
    """The inputs as the model's argument types take them (`tensors.checked_input`), each
    refusal naming `where` (the file) and, with several inputs, which one."""
    from dory_xdsl.tensors import checked_input, numpy_dtype

    return [checked_input(array, numpy_dtype(t.element_type), tuple(t.get_shape()),
                          where if len(types) == 1 else f"{where} (input {i})")
            for i, (array, t) in enumerate(zip(arrays, types))]


def save_outputs(path: str, outputs: list[np.ndarray]) -> None:
    from pathlib import Path

    if len(outputs) == 1 and not path.endswith(".npy"):
        raise DoryError(f"{path}: the model has one output: save it to a .npy file")
    if len(outputs) > 1 and not path.endswith(".npz"):
        raise DoryError(f"{path}: the model has {len(outputs)} outputs: save them to a .npz file")
    if Path(path).is_dir():
        raise DoryError(f"{path}: is a folder")
    try:
        if len(outputs) == 1:
            np.save(path, outputs[0])
        else:
            np.savez(path, **{f"output{i}": array for i, array in enumerate(outputs)})
    except OSError as error:
        raise DoryError(f"{path}: cannot write the output ({error.strerror})") from None


def typed_by_data(module, data: bytes, model_name: str, inputs: Sequence[np.ndarray]):
    """`module`, imported again with int8 graph inputs where a float input's values are
    negative (`onnx_import.signed_float_inputs`); a note names them."""
    from dory_xdsl.frontend.onnx_import import import_onnx_bytes, signed_float_inputs

    signed = signed_float_inputs(data, model_name, inputs)
    if not signed:
        return module
    names = ", ".join(f"input {i}" for i in sorted(signed))
    print(f"note: {names}: negative values in a float graph input: read as int8")
    return import_onnx_bytes(data, model_name, signed)
