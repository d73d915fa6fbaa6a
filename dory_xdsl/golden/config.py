"""DORY's network configuration JSON, as far as a golden check needs it.

DORY reads a JSON file beside the network (`config_files/config_*.json` in `dory_examples`)
with keys such as `onnx_file`, `BNRelu_bits`, `code reserved space` and, for the input,
`input_bits` (default 8), `input_signed` (default false) and `n_inputs` (the number of golden
cases, `input_<i>.txt` with `out_<i>_layer<N>.txt`). NEMO and Quantlab graphs keep the input
in a float container, so only this file says that it is, say, a 2-bit signed tensor in [-2, 1].

`find_config(folder)` takes the one JSON file of a golden folder that has any of DORY's keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dory_xdsl.errors import DoryError

DORY_KEYS = frozenset({"input_bits", "input_signed", "n_inputs", "BNRelu_bits", "onnx_file", "code reserved space"})


@dataclass(frozen=True)
class DoryConfig:
    path: Path
    input_bits: int = 8
    input_signed: bool = False
    n_inputs: int | None = None

    def input_range(self) -> tuple[int, int]:
        if self.input_signed:
            return -(2 ** (self.input_bits - 1)), 2 ** (self.input_bits - 1) - 1
        return 0, 2**self.input_bits - 1

    def describe_input(self) -> str:
        return f"{self.input_bits}-bit {'signed' if self.input_signed else 'unsigned'}"


def read_config(path: str | Path) -> DoryConfig:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise DoryError(f"{path}: cannot read ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise DoryError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise DoryError(f"{path}: a DORY configuration is a JSON object")
    bits = data.get("input_bits", 8)
    signed = data.get("input_signed", False)
    cases = data.get("n_inputs")
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 8:
        raise DoryError(f"{path}: input_bits must be an integer from 1 to 8, got {bits!r}")
    if not isinstance(signed, bool) and signed not in (0, 1):
        raise DoryError(f"{path}: input_signed must be true or false, got {signed!r}")
    if cases is not None and (not isinstance(cases, int) or isinstance(cases, bool) or cases < 1):
        raise DoryError(f"{path}: n_inputs must be a positive integer, got {cases!r}")
    if signed and bits < 2:
        raise DoryError(f"{path}: a signed input needs at least 2 bits")
    return DoryConfig(path, bits, bool(signed), cases)


def find_config(folder: str | Path) -> DoryConfig | None:
    """The DORY configuration in `folder` (a JSON file with one of DORY's keys), if any."""
    found = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and DORY_KEYS & set(data):
            found.append(path)
    if len(found) > 1:
        raise DoryError(f"{folder}: several DORY configurations ({', '.join(p.name for p in found)}): pass one with --config")
    return read_config(found[0]) if found else None
