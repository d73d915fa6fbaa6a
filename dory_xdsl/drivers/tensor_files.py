"""Input and output tensors of `dory run` / `dory compile` as `.npy` / `.npz` files, and the
typing of float graph inputs by the data given for them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dory_xdsl.errors import DoryError


def load_inputs(path: str, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Arrays from an `.npy` (one graph input) or `.npz` (one array per input, in order)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DoryError(f"{path}: cannot read the input ({str(error).splitlines()[0]})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            arrays = [loaded[key] for key in loaded.files]
    else:
        arrays = [loaded]
    if len(arrays) != len(shapes):
        raise DoryError(f"{path}: {len(arrays)} array(s), the model takes {len(shapes)} input(s)")
    return arrays


def save_outputs(path: str, outputs: list[np.ndarray]) -> None:
    if len(outputs) == 1:
        if not path.endswith(".npy"):
            raise DoryError(f"{path}: the model has one output: save it to a .npy file")
        np.save(path, outputs[0])
        return
    if not path.endswith(".npz"):
        raise DoryError(f"{path}: the model has {len(outputs)} outputs: save them to a .npz file")
    np.savez(path, **{f"output{i}": array for i, array in enumerate(outputs)})


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
