"""The GAP-8 app of each shared DORY network compiled once per test session, golden embedded.

`golden_app(model)` returns the `compile.CompiledApp` of `dory compile MODEL --golden FOLDER`
(same calls, default budgets) and the reference engine's layer outputs on the golden input
(program order), computed on the imported module before it was lowered.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from dory_xdsl.compile import CompiledApp, compile_module, golden_inputs, golden_positions
from dory_xdsl.engines import reference_engine
from dory_xdsl.onnx_import import import_onnx_file


@dataclass
class GoldenApp:
    app: CompiledApp
    reference_layers: list[np.ndarray]  # program order (`golden.dory_layers`)


@lru_cache(maxsize=None)
def golden_app(model: Path) -> GoldenApp:
    module = import_onnx_file(str(model))
    inputs = golden_inputs(module, model.parent)
    reference = reference_engine(module.clone(), inputs)
    numbering = golden_positions(module, model)
    app = compile_module(module, name="net", source=model.name, inputs=inputs, golden_dir=model.parent,
                         golden_numbering=numbering)
    return GoldenApp(app, reference.layers)
