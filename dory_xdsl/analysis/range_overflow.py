"""Integer tensors whose ONNX values do not fit the 8 bits the deployed code keeps.

NEMO exports some residual `Add`s (and average poolings) with no `Clip` after them: in ONNX
their values can exceed 8 bits (e.g. reach 358), but their consumers read 8-bit tensors, so the
importer gives the op an 8-bit result that saturates, and records on it the ONNX value range
(`qnn.unclipped_range`) and the ONNX node (`qnn.onnx_node`). This module turns those records
into the compile-time warning, and tells `dory run` which golden tensors hold such values (a
range overflow) and which layers only differ because they read one (downstream of it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness
from xdsl.ir import BlockArgument, Operation, SSAValue

UNCLIPPED_ATTR = "qnn.unclipped_range"
NODE_ATTR = "qnn.onnx_node"


@dataclass(frozen=True)
class RangeOverflow:
    node: str  # the ONNX node, as diagnostics name it
    lo: int  # the ONNX value range
    hi: int
    sat_lo: int  # the range the deployed code saturates to
    sat_hi: int

    def warning(self) -> str:
        return (f"{self.node}: values in [{self.lo}, {self.hi}] do not fit 8 bits (no Clip in the graph); "
                f"the deployed code saturates them to [{self.sat_lo}, {self.sat_hi}]")


def _type_range(value: SSAValue) -> tuple[int, int]:
    elem = value.type.element_type  # type: ignore[union-attr]
    assert isinstance(elem, IntegerType)
    width = elem.width.data
    if elem.signedness.data == Signedness.UNSIGNED:
        return 0, 2**width - 1
    return -(2 ** (width - 1)), 2 ** (width - 1) - 1


def overflow_of(op: Operation) -> RangeOverflow | None:
    """The overflow `op` records (the importer's attributes), if any."""
    attr = op.attributes.get(UNCLIPPED_ATTR)
    if attr is None:
        return None
    lo, hi = attr.get_values()  # type: ignore[union-attr]
    node = op.attributes.get(NODE_ATTR)
    name = node.data if node is not None else op.name  # type: ignore[union-attr]
    return RangeOverflow(name, int(lo), int(hi), *_type_range(op.results[0]))


def range_overflows(module: ModuleOp) -> list[RangeOverflow]:
    """Every recorded overflow of the module, in program order."""
    found = [overflow_of(op) for op in module.walk()]
    return [o for o in found if o is not None]


def warn_range_overflows(module: ModuleOp, tool: str = "dory") -> None:
    """The compile-time warning, one line per overflowing tensor, on stderr."""
    for overflow in range_overflows(module):
        print(f"{tool}: warning: {overflow.warning()}", file=sys.stderr)


def layer_overflows(layer_ops: list[Operation]) -> tuple[list[RangeOverflow | None], list[set[int]]]:
    """For layers given by their first op (`golden.dory_layers` order): each layer's own
    overflow, and the indices of the overflowing layers it reads, directly or through others."""
    index = {id(op): i for i, op in enumerate(layer_ops)}
    own = [overflow_of(op) for op in layer_ops]
    sources: dict[int, set[int]] = {}

    def reads(op: Operation) -> set[int]:
        """Overflowing layers whose values reach `op`'s operands."""
        found: set[int] = set()
        stack = list(op.operands)
        seen: set[int] = set()
        while stack:
            value = stack.pop()
            if isinstance(value, BlockArgument) or id(value) in seen:
                continue
            seen.add(id(value))
            owner = value.owner
            if id(owner) in index:
                i = index[id(owner)]
                found |= sources[i] | ({i} if own[i] is not None else set())
            else:
                stack.extend(owner.operands)
        return found

    for i, op in enumerate(layer_ops):
        sources[i] = reads(op)
    return own, [sources[i] for i in range(len(layer_ops))]
