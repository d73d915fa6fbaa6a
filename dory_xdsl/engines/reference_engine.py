"""`dory run --engine reference`: the numpy interpreter of the `qnn` IR, the bit-exact reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.analysis.dory_layers import layer_arrays
from dory_xdsl.analysis.interpreter import evaluate
from dory_xdsl.engines.result import EngineResult


def reference_engine(module: ModuleOp, inputs: Sequence[np.ndarray]) -> EngineResult:
    """Evaluate `module` with `dory_xdsl.analysis.interpreter` and read every layer's output."""
    evaluation = evaluate(module, inputs)
    return EngineResult(evaluation.outputs, layer_arrays(module, evaluation.values))
