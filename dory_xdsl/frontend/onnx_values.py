"""Symbolic values of ONNX tensors during import.

The NEMO/Quantlab graphs spell integer requantization as real arithmetic (`Mul`, `Add`, `Div`,
`Floor`, `Cast`, `Clip`). The importer tracks each tensor exactly, as a rational affine
expression over integer tensors, and only emits IR when a tensor must exist as an integer
tensor (a conv input, a `Clip`, a graph result):

- `Act`: an integer tensor that exists in the IR, with a per-channel value range.
- `Expr`: `(sum_i a_i * t_i + b) / d`, with per-channel integer `a_i`, `b` and a positive
  integer `d`; each term `t_i` is an `Act`, a `Round` or a `PoolSum`.
- `Round`: `floor` or `trunc` (toward zero) of an `Expr`.
- `PoolSum`: the window sums of an average pooling (the average is `PoolSum / count`).
- `Padded`: an `Act` behind an ONNX `Pad`, waiting to be folded into its consumer.
- `Reshaped`: a shape-only op (`Reshape`, `Flatten`, `Squeeze`, `Unsqueeze`, `Transpose`) applied
  to a value that is not an integer tensor yet (a division waiting for its `Floor`): element-wise
  ops after it act on the value before it, and the shape op runs once that is materialized.
- `Const`: a constant array (initializers, `Constant` nodes).

Per-channel vectors are numpy object arrays of Python ints (no overflow) with shape (C,) along
axis 1 of the tensor, or (1,) when uniform.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
from xdsl.ir import SSAValue

from dory_xdsl.semantics.onnx_requant import floor_div, trunc_div


def vec(values) -> np.ndarray:
    """A per-channel vector of Python ints."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = [int(v) for v in values]
    return arr


ONE = vec([1])
ZERO = vec([0])


def collapse(v: np.ndarray, how) -> np.ndarray:
    return vec([how(v.tolist())])


@dataclass(eq=False)
class Const:
    array: np.ndarray


@dataclass(eq=False)
class Act:
    value: SSAValue
    shape: tuple[int, ...]  # the ONNX shape (the IR shape has H = 1 inserted for rank 3)
    lo: np.ndarray
    hi: np.ndarray
    is_int: bool = False  # the ONNX container type is an integer type

    def bounds(self) -> tuple[int, int]:
        return min(self.lo.tolist()), max(self.hi.tolist())


@dataclass(eq=False)
class PoolSum:
    act: Act
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    shape: tuple[int, ...]

    @property
    def count(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def lo(self) -> np.ndarray:
        padded = any(self.pads)
        return vec([self.count * (min(v, 0) if padded else v) for v in self.act.lo.tolist()])

    @property
    def hi(self) -> np.ndarray:
        padded = any(self.pads)
        return vec([self.count * (max(v, 0) if padded else v) for v in self.act.hi.tolist()])


@dataclass(eq=False)
class Expr:
    terms: tuple[tuple[object, np.ndarray], ...]  # (Act | Round | PoolSum, coefficient vector)
    b: np.ndarray
    d: int
    shape: tuple[int, ...]
    is_int: bool = False
    materialized: dict = field(default_factory=dict)
    origin: str = ""  # the ONNX node that summed two tensors (for diagnostics), kept through rescaling

    def numerator_range(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.b, self.b
        for term, a in self.terms:
            p, q = a * term.lo, a * term.hi
            lo = lo + np.minimum(p, q)
            hi = hi + np.maximum(p, q)
        return lo, hi

    def is_identity(self) -> bool:
        return (
            len(self.terms) == 1 and self.d == 1 and all(v == 1 for v in self.terms[0][1])
            and all(v == 0 for v in self.b)
        )

    def scaled(self, factor: np.ndarray) -> Expr:
        return normalized(Expr(tuple((t, a * factor) for t, a in self.terms), self.b * factor, self.d,
                               self.shape, self.is_int, origin=self.origin))

    def shifted(self, addend: np.ndarray) -> Expr:
        return Expr(self.terms, self.b + addend * self.d, self.d, self.shape, self.is_int, origin=self.origin)

    def divided(self, divisor: int) -> Expr:
        return normalized(Expr(self.terms, self.b, self.d * divisor, self.shape, self.is_int, origin=self.origin))

    def plus(self, other: Expr) -> Expr:
        d = math.lcm(self.d, other.d)
        fa, fb = d // self.d, d // other.d
        terms: list[tuple[object, np.ndarray]] = [(t, a * fa) for t, a in self.terms]
        for t, a in other.terms:
            for i, (u, c) in enumerate(terms):
                if u is t:
                    terms[i] = (u, c + a * fb)
                    break
            else:
                terms.append((t, a * fb))
        return normalized(Expr(tuple(terms), self.b * fa + other.b * fb, d, self.shape,
                               self.is_int or other.is_int, origin=self.origin or other.origin))


def normalized(e: Expr) -> Expr:
    """Divide out a common factor of all coefficients and the denominator."""
    if e.d == 1:
        return e
    values = [e.d] + e.b.tolist() + [v for _, a in e.terms for v in a.tolist()]
    g = reduce(math.gcd, (abs(v) for v in values))
    if g <= 1:
        return e
    return Expr(tuple((t, a // g) for t, a in e.terms), e.b // g, e.d // g, e.shape, e.is_int, origin=e.origin)


@dataclass(eq=False)
class Round:
    expr: Expr
    mode: str  # "floor" or "trunc"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.expr.shape

    def _div(self, v: int) -> int:
        return floor_div(v, self.expr.d) if self.mode == "floor" else trunc_div(v, self.expr.d)

    @property
    def lo(self) -> np.ndarray:
        return vec([self._div(v) for v in self.expr.numerator_range()[0].tolist()])

    @property
    def hi(self) -> np.ndarray:
        return vec([self._div(v) for v in self.expr.numerator_range()[1].tolist()])


@dataclass(eq=False)
class Padded:
    act: Act
    begins: tuple[int, ...]  # per ONNX dimension
    ends: tuple[int, ...]


@dataclass(eq=False)
class Reshaped:
    inner: object  # Expr, Round or PoolSum (element-wise ops apply to it)
    shape: tuple[int, ...]  # the ONNX shape after the shape-only ops
    apply: Callable[[Act], Act]  # the shape-only ops, on the materialized `inner`
    keeps_channels: bool  # axis 1 after the ops is axis 1 before them (per-channel constants commute)
    materialized: dict = field(default_factory=dict)


def as_expr(value, is_int: bool | None = None) -> Expr:
    if isinstance(value, Expr):
        return value
    flag = getattr(value, "is_int", False) if is_int is None else is_int
    return Expr(((value, ONE),), ZERO, 1, value.shape, flag)


def rounded(e: Expr, mode: str) -> Expr:
    """`floor(e)` or `trunc(e)` as an expression (no-op when `e` is already integer).

    Terms whose coefficients are multiples of the denominator leave the floor:
    `floor((d*c*x + rest) / d) = c*x + floor(rest / d)`. This keeps NEMO's residual adds
    (`floor((m*a + 2^s*b) / 2^s)`) expressible as requantizing adds of 8-bit operands.
    """
    if e.d == 1:
        return e
    if mode == "floor" and len(e.terms) > 1:
        whole = [(t, a // e.d) for t, a in e.terms if all(v % e.d == 0 for v in a.tolist())]
        if whole and len(whole) < len(e.terms):
            rest = tuple((t, a) for t, a in e.terms if any(v % e.d for v in a.tolist()))
            inner = rounded(normalized(Expr(rest, e.b, e.d, e.shape, e.is_int)), mode)
            return Expr(tuple(whole), ZERO, 1, e.shape, e.is_int, origin=e.origin).plus(inner)
    result = as_expr(Round(e, mode), e.is_int)
    result.origin = e.origin
    return result
