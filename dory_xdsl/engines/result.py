"""What every engine returns, and the engine signatures the registry (`engines.registry`) names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import ModuleOp


@dataclass
class EngineResult:
    """The final outputs, and the output of every DORY layer in program order (4-D ones NCHW)."""

    outputs: list[np.ndarray]
    layers: list[np.ndarray]


Engine = Callable[[ModuleOp, Sequence[np.ndarray]], EngineResult]
"""`engine(module, inputs)`: run the imported `qnn` module on NCHW integer inputs."""

Prepared = Callable[[Sequence[np.ndarray]], EngineResult]
"""`run(inputs)` of an engine whose input-independent work (lowering, printing) was done once."""
