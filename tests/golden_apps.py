"""GAP-8 apps compiled once per test session, golden embedded.

`golden_app(model)` returns the `compile.CompiledApp` of `dory compile MODEL --golden FOLDER`
(same calls, default budgets; FOLDER is the model's folder) and the reference engine's layer
outputs on the golden input (program order, computed on the imported module before lowering,
on first use). `mobilenet_model(width, resolution)` is `dory gen-mobilenet`'s model and golden
folder (default seed and classes), generated once.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.engines.reference_engine import reference_engine
from dory_xdsl.frontend.onnx_import import import_onnx_file
from dory_xdsl.golden.dory_dir import golden_inputs, golden_layer_values
from dory_xdsl.golden.numbering import golden_positions
from dory_xdsl.lowering.pipeline import CompiledApp, compile_module
from dory_xdsl.generators.mobilenet import MobileNetConfig, generate_mobilenet


@dataclass
class GoldenApp:
    app: CompiledApp
    imported: ModuleOp  # the module as imported (not lowered)
    inputs: list[np.ndarray]
    _reference: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def reference_layers(self) -> list[np.ndarray]:
        if self._reference is None:
            self._reference = reference_engine(self.imported.clone(), self.inputs).layers
        return self._reference


@lru_cache(maxsize=None)
def golden_app(model: Path) -> GoldenApp:
    module = import_onnx_file(str(model))
    imported = module.clone()
    inputs = golden_inputs(module, model.parent)
    numbering = golden_positions(module, model)
    app = compile_module(module, name="net", source=model.name, inputs=inputs,
                         golden_layers=golden_layer_values(model.parent),
                         golden_numbering=numbering)
    return GoldenApp(app, imported, inputs)


_MOBILENETS = Path(tempfile.mkdtemp(prefix="dory-test-mobilenet-"))
atexit.register(shutil.rmtree, _MOBILENETS, True)


@lru_cache(maxsize=None)
def mobilenet_model(width: float, resolution: int) -> Path:
    folder = _MOBILENETS / f"mobilenet_{width}_{resolution}"
    generate_mobilenet(MobileNetConfig(width=width, resolution=resolution), folder)
    return folder / "model.onnx"
