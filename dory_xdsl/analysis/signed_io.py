"""Signed 8-bit tensors across the lowered network's boundary (for the tiled and host engines).

`qnn-offset-int8` holds every `i8` activation as the `ui8` byte value + 128, network inputs and
outputs included. The engines that run the lowered network take and return values in the
imported module's types, so `SignedBoundary.of(module)` (the imported module) records which
inputs, outputs and DORY layer outputs (`analysis.dory_layers` order) are `i8`; `stored_inputs`
checks each input against the imported type (a one-line `DoryError` when a value does not fit,
never a wrap) and adds 128 to the signed ones; `values` subtracts it from what the lowered
network computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import IntegerType, ModuleOp, TensorType

from dory_xdsl.analysis.dory_layers import dory_layers
from dory_xdsl.analysis.interpreter import main_function, prepare_input

OFFSET = 128
I8 = IntegerType(8)


def _signed(t) -> bool:
    return isinstance(t, TensorType) and t.element_type == I8


@dataclass(frozen=True)
class SignedBoundary:
    input_types: tuple[TensorType, ...]
    outputs: tuple[bool, ...]
    layers: tuple[bool, ...]

    @classmethod
    def of(cls, module: ModuleOp) -> SignedBoundary:
        """The boundary of `module` as imported (before `qnn-offset-int8`)."""
        main = main_function(module)
        args = tuple(a.type for a in main.body.block.args)
        results = tuple(_signed(t) for t in main.function_type.outputs.data)
        return cls(args, results, tuple(_signed(layer.output.type) for layer in dory_layers(module)))  # type: ignore[arg-type]

    def stored_inputs(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The inputs as the lowered network takes them (int64): checked, + 128 where signed."""
        stored = []
        for index, (array, t) in enumerate(zip(inputs, self.input_types)):
            value = prepare_input(array, t, index).astype(np.int64)
            stored.append(value + OFFSET if _signed(t) else value)
        stored.extend(np.asarray(a) for a in inputs[len(self.input_types):])
        return stored

    def values(self, arrays: Sequence[np.ndarray], signed: Sequence[bool]) -> list[np.ndarray]:
        """`arrays` computed by the lowered network, as values: - 128 where `signed`."""
        return [(a.astype(np.int16) - OFFSET).astype(np.int8) if s else a for a, s in zip(arrays, signed)]

    def result(self, result):
        """An engine result of the lowered network (outputs and layers, an `EngineResult`) in
        the imported module's types."""
        return type(result)(self.values(result.outputs, self.outputs), self.values(result.layers, self.layers))
