"""Helpers shared by the ONNX import tests: the graph builder, the reference networks, onnxruntime.

The small graphs come from `filecheck/onnx_import/inputs/make_graph.py` (also used by the lit
tests), loaded here by path. The reference networks live in `<repo>/../shared/models`: missing,
they skip the tests, unless `CI=true`, where they fail.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT.parent / "shared" / "models" / "dory_examples"

_spec = importlib.util.spec_from_file_location("make_graph", ROOT / "filecheck/onnx_import/inputs/make_graph.py")
make_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_graph)  # type: ignore[union-attr]


def example_networks() -> list[Path]:
    """Every NEMO network and the original Quantlab graph (not the .ortcompat copy)."""
    if not EXAMPLES.is_dir():
        return []
    nets = sorted(EXAMPLES.glob("Nemo/*/*.onnx"))
    return nets + sorted(p for p in EXAMPLES.glob("Quantlab/*/*.onnx") if not p.name.endswith(".ortcompat.onnx"))


def require_examples() -> None:
    if not EXAMPLES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"reference networks missing: {EXAMPLES}")
        pytest.skip(f"reference networks missing: {EXAMPLES}")


def onnxruntime_values(model: onnx.ModelProto, names: list[str], inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The tensors `names` computed by onnxruntime (added as graph outputs where needed)."""
    import onnxruntime as ort

    model = onnx.ModelProto.FromString(model.SerializeToString())
    existing = {o.name for o in model.graph.output}
    for name in names:
        if name not in existing:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feeds = {k: v.astype(np.float32) for k, v in inputs.items()}
    return [np.asarray(v) for v in session.run(names, feeds)]


def as_integers(array: np.ndarray) -> np.ndarray:
    """An onnxruntime float tensor that must hold integers, as int64."""
    assert np.array_equal(array, np.floor(array)), "onnxruntime produced non-integer values"
    return array.astype(np.int64)
