"""Execution engines of `dory run`: a small registry so new engines plug in by name.

An engine is a function `engine(module, inputs) -> EngineResult`: it runs the imported `qnn`
module (as the ONNX importer produced it) on NCHW integer `inputs` and returns the final
outputs and the output of every layer of the module, in the order of
`dory_xdsl.golden.dory_layers(module)` (program order; `dory run` maps them to DORY's numbers),
4-D layer outputs in NCHW, the logical layout, whatever layout the engine computes in.

Engines are registered as `"module:function"` strings and imported only when chosen, so the
command starts fast and an engine's dependencies (a C compiler, Z3, ...) load only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.errors import DoryError


@dataclass
class EngineResult:
    outputs: list[np.ndarray]
    layers: list[np.ndarray]


Engine = Callable[[ModuleOp, Sequence[np.ndarray]], EngineResult]

ENGINES: dict[str, str] = {
    "reference": "dory_xdsl.engines:reference_engine",
    "host": "dory_xdsl.host_engine:host_engine",
    "tiled": "dory_xdsl.tiled_engine:tiled_engine",
}
"""Engine name -> "module:function". Add an entry to make `dory run --engine NAME` available."""


def reference_engine(module: ModuleOp, inputs: Sequence[np.ndarray]) -> EngineResult:
    """The numpy interpreter of the IR (`dory_xdsl.interpreter`): the bit-exact reference."""
    from dory_xdsl.golden import layer_arrays
    from dory_xdsl.interpreter import evaluate

    evaluation = evaluate(module, inputs)
    return EngineResult(evaluation.outputs, layer_arrays(module, evaluation.values))


def get_engine(name: str) -> Engine:
    if name not in ENGINES:
        raise DoryError(f"unknown engine '{name}' (available: {', '.join(sorted(ENGINES))})")
    module_name, function = ENGINES[name].split(":")
    return getattr(importlib.import_module(module_name), function)
