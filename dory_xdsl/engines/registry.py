"""Execution engines of `dory run`: a small registry so new engines plug in by name.

An engine is a function `engine(module, inputs) -> EngineResult` (`dory_xdsl.engines.result`): it
runs the imported `qnn` module (as the ONNX importer produced it) on NCHW integer `inputs` and
returns the final outputs and the output of every layer of the module, in the order of
`dory_xdsl.analysis.dory_layers.dory_layers(module)` (program order; `dory run` maps them to
DORY's numbers), 4-D layer outputs in NCHW, the logical layout, whatever layout the engine
computes in.

Engines are registered as lazy factories (a function that imports the engine's module and returns
the engine), so the command starts fast and an engine's dependencies (a C compiler, Z3, ...) load
only when used.

Several inputs: `prepare_engine(name, module, options)` does the input-independent work once
(lowering and tiling under the budgets of `options`, a `lowering.pipeline.CompileOptions`; C
printing) and returns `run(inputs) -> EngineResult` (`PREPARERS`; an engine without a preparer
re-runs in full on a fresh clone of the module per call, at the default budgets). `dory run`
always goes through `prepare_engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.errors import DoryError

if TYPE_CHECKING:
    from dory_xdsl.engines.result import Engine, Prepared
    from dory_xdsl.lowering.pipeline import CompileOptions


def _reference() -> Engine:
    from dory_xdsl.engines.reference_engine import reference_engine

    return reference_engine


def _host() -> Engine:
    from dory_xdsl.engines.host_engine import host_engine

    return host_engine


def _tiled() -> Engine:
    from dory_xdsl.engines.tiled_engine import tiled_engine

    return tiled_engine


def _prepare_host() -> Callable[[ModuleOp, CompileOptions], Prepared]:
    from dory_xdsl.engines.host_engine import prepare_host

    return prepare_host


def _qemu() -> Engine:
    from dory_xdsl.engines.qemu_engine import qemu_engine

    return qemu_engine


def _prepare_qemu() -> Callable[[ModuleOp, CompileOptions], Prepared]:
    from dory_xdsl.engines.qemu_engine import prepare_qemu

    return prepare_qemu


def _prepare_tiled() -> Callable[[ModuleOp, CompileOptions], Prepared]:
    from dory_xdsl.engines.tiled_engine import prepare_tiled

    return prepare_tiled


ENGINES: dict[str, Callable[[], Engine]] = {"reference": _reference, "host": _host, "tiled": _tiled,
                                             "qemu-rv32": _qemu}
"""Engine name -> factory returning the engine. Add an entry to make `dory run --engine NAME`
available."""

PREPARERS: dict[str, Callable[[], Callable[[ModuleOp, CompileOptions], Prepared]]] = {
    "tiled": _prepare_tiled, "host": _prepare_host, "qemu-rv32": _prepare_qemu}
"""Engine name -> factory returning `prepare(module, options) -> run(inputs)`."""

BUILDS_APP: frozenset[str] = frozenset({"host", "qemu-rv32"})
"""Engines that build and run the generated app (they take `CompileOptions.pulp_nn`)."""

APPLIES_SOFTMAX_TAIL: frozenset[str] = frozenset({"host", "qemu-rv32"})
"""Engines whose outputs already include the final softmax `@main` records (`qnn.softmax_tail`):
the generated C applies it on the fabric controller (`lowering.softmax_c`). The others return
the logits and `dory run` applies `semantics.qdq_softmax.softmax_int8` to them."""


def prepare_engine(name: str, module: ModuleOp, options: CompileOptions | None = None) -> Prepared:
    """`run(inputs)` of engine `name` on `module` (which is not modified); `options` sets the
    budgets of the engines that lower the module (default: GAP-8's)."""
    from dory_xdsl.lowering.pipeline import CompileOptions

    engine = get_engine(name)
    checked = input_checker(module)
    if name in PREPARERS:
        run = PREPARERS[name]()(module, options if options is not None else CompileOptions())
        return lambda inputs: run(checked(inputs))
    return lambda inputs: engine(module.clone(), checked(inputs))


def input_checker(module: ModuleOp) -> Callable[[Sequence[np.ndarray]], list[np.ndarray]]:
    """Every engine takes its inputs through `tensors.checked_input` (count, shape, dtype, range)."""
    from dory_xdsl.analysis.interpreter import main_function
    from dory_xdsl.tensors import checked_input, numpy_dtype

    types = [arg.type for arg in main_function(module).body.block.args]

    def check(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if len(inputs) != len(types):
            raise DoryError(f"{len(inputs)} input(s) given, the model takes {len(types)}")
        return [checked_input(array, numpy_dtype(t.element_type), tuple(t.get_shape()), f"input {i}")
                for i, (array, t) in enumerate(zip(inputs, types))]

    return check


def get_engine(name: str) -> Engine:
    if name not in ENGINES:
        raise DoryError(f"unknown engine '{name}' (available: {', '.join(sorted(ENGINES))})")
    return ENGINES[name]()
