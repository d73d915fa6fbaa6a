"""Building the body of a lowered layer function: constants, `arith` index arithmetic from the
tile expressions (`dory_xdsl.tiling.tile_exprs.Expr`) and nested `scf` scopes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import (
    IndexType,
    IntegerAttr,
    MemRefType,
    TensorType,
)
from xdsl.ir import Block, Operation, SSAValue

from dory_xdsl.tiling.tile_exprs import Expr




def memref_of(t: TensorType) -> MemRefType:
    return MemRefType(t.element_type, list(t.get_shape()))


class _Body:
    """Appends ops at a cursor block; index constants are hoisted to the function top."""

    def __init__(self, block: Block):
        self.block = block
        self.cursor = block
        self.constants: dict[int, Operation] = {}

    def emit(self, op: Operation) -> Operation:
        self.cursor.add_op(op)
        return op

    def const(self, value: int) -> SSAValue:
        if value not in self.constants:
            self.constants[value] = arith.ConstantOp(IntegerAttr(value, IndexType()))
        return self.constants[value].results[0]

    @contextmanager
    def inside(self, block: Block) -> Iterator[None]:
        """Emit into `block` (a loop or `if` body), closed with `scf.yield`."""
        outer, self.cursor = self.cursor, block
        try:
            yield
        finally:
            block.add_op(scf.YieldOp())
            self.cursor = outer

    def finish(self) -> None:
        first = self.block.first_op
        for value in sorted(self.constants):
            op = self.constants[value]
            if first is None:
                self.block.add_op(op)
            else:
                self.block.insert_op_before(op, first)


Leaf = int | SSAValue
"""The tile index an expression is emitted for: a known tile (constants) or an `index` value."""

_ARITH = {
    "add": arith.AddiOp, "sub": arith.SubiOp, "mul": arith.MuliOp, "div": arith.DivSIOp,
    "rem": arith.RemSIOp, "min": arith.MinSIOp, "max": arith.MaxSIOp, "and": arith.AndIOp,
    "or": arith.OrIOp,
}


class _Emitter:
    """Emits tile expressions (`dory_xdsl.tiling.tile_exprs`) as `arith` ops, each once per scope."""

    def __init__(self, body: _Body):
        self.body = body
        self.scopes: list[dict[tuple[int, int], SSAValue]] = [{}]
        self.prefix = ""

    @contextmanager
    def scope(self, block: Block, prefix: str | None = None) -> Iterator[None]:
        """Emit into a nested block; values emitted there are not reused outside it."""
        saved = self.prefix
        self.scopes.append({})
        if prefix is not None:
            self.prefix = prefix
        try:
            with self.body.inside(block):
                yield
        finally:
            self.scopes.pop()
            self.prefix = saved

    def value(self, e: Expr, leaf: Leaf) -> SSAValue:
        if e.is_const:
            return self.body.const(e.value)
        if isinstance(leaf, int):
            return self.body.const(e.at(leaf))
        if e.op == "tile":
            return leaf
        key = (id(e), id(leaf))
        for scope in reversed(self.scopes):
            if key in scope:
                return scope[key]
        args = [self.value(a, leaf) for a in e.args]
        if e.op == "lt":
            op: Operation = arith.CmpiOp(args[0], args[1], "slt")
        elif e.op == "eq":
            op = arith.CmpiOp(args[0], args[1], "eq")
        elif e.op == "select":
            op = arith.SelectOp(*args)
        else:
            op = _ARITH[e.op](*args)
        self.body.emit(op)
        result = op.results[0]
        if e.name:
            result.name_hint = self.prefix + e.name
        self.scopes[-1][key] = result
        return result

    def mixed(self, e: Expr, leaf: Leaf) -> int | SSAValue:
        if e.is_const:
            return e.value
        if isinstance(leaf, int):
            return e.at(leaf)
        return self.value(e, leaf)
