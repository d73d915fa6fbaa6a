"""Unsigned bit-vector terms for Z3 that size themselves from their upper bounds.

A `Term` is a Z3 bit-vector expression plus an upper bound on its value. Each operation
zero-extends its operands to exactly the width its result can need, so nothing overflows and
multipliers stay as narrow as the numbers allow (the bit-blasted size of a multiplier grows with
the square of its width: narrow terms are what makes the tiling model fast).

`Z3Arith` implements the `dory_xdsl.tiles.Arith` protocol over terms, so the L1 buffer formula
and the cost formula are written once and evaluated either on ints or symbolically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import z3


def _width(ub: int) -> int:
    return max(1, ub.bit_length())


class Term:
    __slots__ = ("expr", "ub")

    def __init__(self, expr: z3.BitVecRef, ub: int):
        self.expr = expr
        self.ub = ub

    @staticmethod
    def const(value: int) -> Term:
        if value < 0:
            raise ValueError(f"terms are unsigned, got {value}")
        return Term(z3.BitVecVal(value, _width(value)), value)

    def widened(self, width: int) -> z3.BitVecRef:
        extra = width - self.expr.size()
        return z3.ZeroExt(extra, self.expr) if extra > 0 else self.expr

    def __add__(self, other: Operand) -> Term:
        o = lift(other)
        ub = self.ub + o.ub
        w = max(_width(ub), self.expr.size(), o.expr.size())
        return Term(self.widened(w) + o.widened(w), ub)

    __radd__ = __add__

    def __mul__(self, other: Operand) -> Term:
        o = lift(other)
        if o.ub == 0 or self.ub == 0:
            return Term.const(0)
        ub = self.ub * o.ub
        w = max(_width(ub), self.expr.size(), o.expr.size())
        return Term(self.widened(w) * o.widened(w), ub)

    __rmul__ = __mul__

    def shr(self, bits: int) -> Term:
        """Floor division by 2**bits."""
        if bits == 0:
            return self
        if self.expr.size() <= bits:
            return Term.const(0)
        return Term(z3.LShR(self.expr, bits), self.ub >> bits)

    def low_bits_zero(self, bits: int) -> z3.BoolRef:
        """self % 2**bits == 0."""
        if bits == 0:
            return z3.BoolVal(True)
        e = self.widened(bits)
        return z3.Extract(bits - 1, 0, e) == 0

    def eq(self, value: int) -> z3.BoolRef:
        if value > self.ub:
            return z3.BoolVal(False)
        w = max(self.expr.size(), _width(value))
        return self.widened(w) == value

    def ule(self, other: Operand) -> z3.BoolRef:
        o = lift(other)
        w = max(self.expr.size(), o.expr.size())
        return z3.ULE(self.widened(w), o.widened(w))


Operand = Union[Term, int]


def lift(x: Operand) -> Term:
    return x if isinstance(x, Term) else Term.const(x)


def ite(cond: z3.BoolRef | bool, a: Operand, b: Operand) -> Term:
    if isinstance(cond, bool):
        return lift(a if cond else b)
    ta, tb = lift(a), lift(b)
    w = max(ta.expr.size(), tb.expr.size())
    return Term(z3.If(cond, ta.widened(w), tb.widened(w)), max(ta.ub, tb.ub))


def maximum(a: Operand, b: Operand) -> Term:
    ta, tb = lift(a), lift(b)
    return ite(tb.ule(ta), ta, tb)


def lookup(index: z3.BitVecRef, values: Sequence[int]) -> Term:
    """values[index] as an if-chain (the caller constrains index < len(values))."""
    ub = max(values)
    w = _width(ub)
    expr: z3.BitVecRef = z3.BitVecVal(values[-1], w)
    for i in range(len(values) - 2, -1, -1):
        expr = z3.If(index == i, z3.BitVecVal(values[i], w), expr)
    return Term(expr, ub)


def div_ceil(x: Operand, d: int) -> Term:
    """ceil(x / d) for a constant d (a shift when d is a power of two)."""
    t = lift(x)
    if d & (d - 1) == 0:
        return (t + (d - 1)).shr(d.bit_length() - 1)
    s = t + (d - 1)
    w = s.expr.size()
    return Term(z3.UDiv(s.expr, z3.BitVecVal(d, w)), s.ub // d)


class Z3Arith:
    """`dory_xdsl.tiles.Arith` over terms."""

    @staticmethod
    def all_one(*xs: Operand) -> z3.BoolRef | bool:
        conds = [lift(x).eq(1) for x in xs]
        return z3.And(*conds) if len(conds) > 1 else conds[0]

    @staticmethod
    def ite(cond: z3.BoolRef | bool, a: Operand, b: Operand) -> Term:
        return ite(cond, a, b)

    @staticmethod
    def align(x: Operand, alignment: int) -> Term:
        if alignment & (alignment - 1):
            raise ValueError("alignment must be a power of two")
        bits = alignment.bit_length() - 1
        q = div_ceil(x, alignment)
        return q * alignment if bits else q
