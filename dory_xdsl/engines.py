"""Execution engines of `dory run`: a small registry so new engines plug in by name.

An engine is a function `engine(module, inputs) -> EngineResult`: it runs the imported `qnn`
module (as the ONNX importer produced it) on NCHW integer `inputs` and returns the final
outputs and the output of every layer of the module, in the order of
`dory_xdsl.golden.dory_layers(module)` (program order; `dory run` maps them to DORY's numbers),
4-D layer outputs in NCHW, the logical layout, whatever layout the engine computes in.

Engines are registered as `"module:function"` strings and imported only when chosen, so the
command starts fast and an engine's dependencies (a C compiler, Z3, ...) load only when used.

Several inputs: `prepare_engine(name, module, options)` does the input-independent work once
(lowering and tiling under the budgets of `options`, a `compile.CompileOptions`; C printing) and
returns `run(inputs) -> EngineResult` (`PREPARERS`; an engine without a preparer re-runs in full
on a fresh clone of the module per call, at the default budgets). `dory run` always goes through
`prepare_engine`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.errors import DoryError
from dory_xdsl.signed_io import SignedBoundary

if TYPE_CHECKING:
    from dory_xdsl.compile import CompileOptions


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

APPLIES_SOFTMAX_TAIL: frozenset[str] = frozenset({"host"})
"""Engines whose outputs already include the final softmax `@main` records (`qnn.softmax_tail`):
the generated C applies it on the fabric controller (`lowering.softmax_c`). The others return
the logits and `dory run` applies `qdq_softmax.softmax_int8` to them."""


def reference_engine(module: ModuleOp, inputs: Sequence[np.ndarray]) -> EngineResult:
    """The numpy interpreter of the IR (`dory_xdsl.interpreter`): the bit-exact reference."""
    from dory_xdsl.golden import layer_arrays
    from dory_xdsl.interpreter import evaluate

    evaluation = evaluate(module, inputs)
    return EngineResult(evaluation.outputs, layer_arrays(module, evaluation.values))


Prepared = Callable[[Sequence[np.ndarray]], EngineResult]

PREPARERS: dict[str, str] = {
    "tiled": "dory_xdsl.engines:prepare_tiled",
    "host": "dory_xdsl.engines:prepare_host",
}
"""Engine name -> "module:function" of `prepare(module, options) -> run(inputs)`."""


def _signed_values(boundary: SignedBoundary, result: EngineResult) -> EngineResult:
    """A lowered network's result in the imported module's types (signed 8-bit: byte - 128)."""
    return EngineResult(boundary.values(result.outputs, boundary.outputs),
                        boundary.values(result.layers, boundary.layers))


def prepare_tiled(module: ModuleOp, options: CompileOptions) -> Prepared:
    """Lower and tile once (`tiled_engine.compile_tiled`), run each input on the lowered IR."""
    from dory_xdsl.tiled_engine import compile_tiled, tiled_result

    boundary = SignedBoundary.of(module)
    lowered = compile_tiled(module.clone(), l1_bytes=options.l1_bytes, objective=options.objective,
                            double_buffer=options.double_buffer, l2_code_reserved=options.l2_code_reserved)
    return lambda inputs: _signed_values(boundary, tiled_result(lowered, boundary.stored_inputs(inputs)))


def prepare_host(module: ModuleOp, options: CompileOptions) -> Prepared:
    """Lower, tile and print once (`compile.compile_module`); per input only `input.c` is printed
    again and the app rebuilt (runtime objects are cached) and run."""
    import dataclasses

    from dory_xdsl.compile import compile_module, main_input_types
    from dory_xdsl.host_engine import host_result
    from dory_xdsl.lowering.app import input_bytes, input_source
    from dory_xdsl.lowering.c_printer import num_bytes
    from dory_xdsl.tensors import numpy_dtype

    boundary = SignedBoundary.of(module)
    app = compile_module(module.clone(), options=options)
    types = main_input_types(app.module)
    dtypes = [numpy_dtype(t.element_type) for t in types]
    sizes = [num_bytes(t) for t in types]

    def run(inputs: Sequence[np.ndarray]) -> EngineResult:
        if len(inputs) != len(types):
            raise DoryError(f"{len(inputs)} input(s) given, the network takes {len(types)}")
        data = input_bytes(boundary.stored_inputs(inputs), dtypes)
        source = input_source("network", sizes, data).encode()
        result = host_result(dataclasses.replace(app, files={**app.files, "input.c": source}), options.l1_bytes)
        return _signed_values(boundary, result)

    return run


def prepare_engine(name: str, module: ModuleOp, options: CompileOptions | None = None) -> Prepared:
    """`run(inputs)` of engine `name` on `module` (which is not modified); `options` sets the
    budgets of the engines that lower the module (default: GAP-8's)."""
    from dory_xdsl.compile import CompileOptions

    engine = get_engine(name)
    if name in PREPARERS:
        module_name, function = PREPARERS[name].split(":")
        prepare = getattr(importlib.import_module(module_name), function)
        return prepare(module, options if options is not None else CompileOptions())
    return lambda inputs: engine(module.clone(), inputs)


def get_engine(name: str) -> Engine:
    if name not in ENGINES:
        raise DoryError(f"unknown engine '{name}' (available: {', '.join(sorted(ENGINES))})")
    module_name, function = ENGINES[name].split(":")
    return getattr(importlib.import_module(module_name), function)
