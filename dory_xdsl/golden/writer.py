"""Write golden data in the DORY format that `dory_xdsl.golden.dory_dir` reads.

One file per tensor: a header line `# <name> (shape [...]),` then one integer per line with a
trailing comma. 4-D activations (N = 1, given in NCHW) are written in HWC order (channel
fastest) with the header shape `[H, W, C]`, as DORY writes them; other tensors are written flat
with their own shape. A golden folder holds `input.txt` (the network input) and
`out_layer<N>.txt` (the output of DORY layer N).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dory_xdsl.errors import DoryError


def file_order(array: np.ndarray) -> np.ndarray:
    """The values of `array` in DORY file order: HWC for a 4-D NCHW activation, else as is."""
    array = np.asarray(array)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise DoryError(f"golden tensors hold one image, got a batch of {array.shape[0]}")
        return array[0].transpose(1, 2, 0)
    return array


def golden_text(name: str, array: np.ndarray) -> str:
    """The text of one golden file for `array` (integer values; NCHW when 4-D)."""
    ordered = file_order(array)
    values = ordered.reshape(-1)
    integers = values.astype(np.int64)
    if not np.array_equal(integers, values):
        raise DoryError(f"golden tensor '{name}' holds non-integer values")
    shape = ", ".join(str(d) for d in ordered.shape)
    lines = [f"# {name} (shape [{shape}]),"]
    lines.extend(f"{v}," for v in integers.tolist())
    return "\n".join(lines) + "\n"


def write_golden_file(path: str | Path, name: str, array: np.ndarray) -> Path:
    path = Path(path)
    path.write_text(golden_text(name, array))
    return path


def write_golden_dir(
    folder: str | Path, network_input: np.ndarray, layers: Sequence[tuple[str, np.ndarray]]
) -> list[Path]:
    """Write `input.txt` and `out_layer<N>.txt` for every (name, output) of `layers`, in DORY
    layer order; returns the written paths (input first)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_golden_file(folder / "input.txt", "input", network_input)]
    for index, (name, array) in enumerate(layers):
        paths.append(write_golden_file(folder / f"out_layer{index}.txt", name, array))
    return paths
