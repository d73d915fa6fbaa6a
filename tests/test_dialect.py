"""Python-side helpers of the qnn dialect: constructors, shape helpers, RequantAttr syntax."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, IntegerType, ModuleOp, Signedness, TensorType, i32
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.test_value import create_ssa_value

from dory_xdsl.dialects import qnn
from dory_xdsl.tensors import dense_attr, to_numpy

ui8 = IntegerType(8, Signedness.UNSIGNED)
i8 = IntegerType(8)


def t(shape, elem=ui8) -> TensorType:
    return TensorType(elem, list(shape))


def value(shape, elem=ui8):
    return create_ssa_value(t(shape, elem))


def ctx() -> Context:
    c = Context()
    c.load_dialect(Builtin)
    c.load_dialect(qnn.Qnn)
    return c


def printed(attr) -> str:
    import io

    stream = io.StringIO()
    Printer(stream=stream).print_attribute(attr)
    return stream.getvalue()


# ----------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pad", "dilation", "expected"),
    [
        (8, 3, 1, 2, 1, 8),  # "same" 3x3
        (8, 3, 2, 2, 1, 4),
        (8, 3, 2, 0, 1, 3),  # floor mode drops the last partial window
        (7, 2, 2, 0, 1, 3),
        (10, 3, 1, 0, 2, 6),  # dilation 2: effective kernel 5
        (5, 5, 1, 0, 1, 1),
        (2, 3, 1, 0, 1, 0),  # does not fit: < 1
    ],
)
def test_pool_out(size, kernel, stride, pad, dilation, expected):
    assert qnn.pool_out(size, kernel, stride, pad, dilation) == expected


def test_pool_out_matches_brute_force():
    for size in range(1, 9):
        for kernel in range(1, 4):
            for stride in range(1, 4):
                for pad in range(0, 3):
                    for dilation in range(1, 3):
                        extent = dilation * (kernel - 1) + 1
                        starts = [s for s in range(0, size + pad) if s + extent <= size + pad][::stride]
                        got = qnn.pool_out(size, kernel, stride, pad, dilation)
                        assert got == len(starts) if starts else got < 1


def test_hw_c():
    assert qnn.hw_c((1, 3, 5, 7), "nchw") == (5, 7, 3)
    assert qnn.hw_c((1, 5, 7, 3), "nhwc") == (5, 7, 3)


def test_int_range():
    assert qnn.int_range(ui8) == (0, 255)
    assert qnn.int_range(i8) == (-128, 127)
    assert qnn.int_range(i32) == (-(2**31), 2**31 - 1)
    assert qnn.int_range(IntegerType(16, Signedness.UNSIGNED)) == (0, 65535)


# ----------------------------------------------------------------------------- RequantAttr


def test_requant_attr_prints_and_parses_back():
    attr = qnn.RequantAttr(12, -128, 127)
    text = printed(attr)
    assert text == "#qnn.requant<shift = 12, clip = [-128, 127]>"
    assert Parser(ctx(), text).parse_attribute() == attr
    assert (attr.shift.data, attr.lo.data, attr.hi.data) == (12, -128, 127)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("#qnn.requant<shift = 64, clip = [0, 255]>", "requant shift 64 is not in [0, 63]"),
        ("#qnn.requant<shift = -1, clip = [0, 255]>", "requant shift -1 is not in [0, 63]"),
        ("#qnn.requant<shift = 3, clip = [5, 4]>", "requant clip bounds [5, 4] are empty"),
    ],
)
def test_requant_attr_rejects(text, message):
    with pytest.raises(VerifyException, match=message.replace("[", r"\[").replace("]", r"\]")):
        Parser(ctx(), text).parse_attribute()


def test_requant_attr_syntax_error_is_reported():
    from xdsl.utils.exceptions import ParseError

    with pytest.raises(ParseError):
        Parser(ctx(), "#qnn.requant<shift = 3, clip = 0>").parse_attribute()


# ----------------------------------------------------------------------------- constructors


def test_constant_from_numpy_keeps_bytes_and_type():
    data = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)
    op = qnn.ConstantOp(dense_attr(data))
    op.verify()
    assert op.result.type == t((3, 4), i8)
    assert np.array_equal(to_numpy(op.value), data)


def test_conv2d_constructor_defaults_and_verify():
    x, w = value((1, 4, 8, 8)), value((8, 4, 3, 3), i8)
    op = qnn.Conv2dOp(x, w, t((1, 8, 6, 6), i32))
    op.verify()
    assert list(op.strides.get_values()) == [1, 1]
    assert list(op.pads.get_values()) == [0, 0, 0, 0]
    assert list(op.dilations.get_values()) == [1, 1]
    assert op.group.value.data == 1 and op.layout.data == "nchw"
    assert op.bias is None and op.k is None and op.requant is None


def test_conv2d_constructor_with_requant_depthwise_nhwc():
    x, w = value((1, 8, 8, 4)), value((4, 3, 3, 1), i8)
    b, k, lam = value((4,), i32), value((4,), i32), value((4,), i32)
    op = qnn.Conv2dOp(
        x, w, t((1, 4, 4, 4)), strides=(2, 2), pads=(1, 1, 1, 1), group=4, layout="nhwc",
        bias=b, k=k, lambda_=lam, requant=qnn.RequantAttr(8, 0, 255),
    )
    op.verify()
    assert op.bias is b and op.k is k and op.lambda_ is lam
    assert op.requant == qnn.RequantAttr(8, 0, 255)


def test_conv2d_wrong_shape_names_op_and_expected_shape():
    x, w = value((1, 4, 8, 8)), value((8, 4, 3, 3), i8)
    op = qnn.Conv2dOp(x, w, t((1, 8, 8, 8), i32))
    op.result.name_hint = "conv1"
    with pytest.raises(VerifyException, match=r"qnn.conv2d %conv1: result shape \[1, 8, 8, 8\] does not match the expected \[1, 8, 6, 6\]"):
        op.verify()


def test_linear_and_requant_constructors():
    x, w = value((1, 16)), value((10, 16), i8)
    lin = qnn.LinearOp(x, w, t((1, 10), i32))
    lin.verify()
    k, lam = value((10,), IntegerType(64)), value((10,), IntegerType(64))
    rq = qnn.RequantOp(lin.result, k, lam, qnn.RequantAttr(40, 0, 255), 1, t((1, 10)))
    rq.verify()
    assert rq.axis.value.data == 1 and rq.requant.shift.data == 40


def test_add_constructor_requires_every_parameter():
    a = value((1, 4))
    params = dict(mul_a=1, add_a=0, shift_a=0, mul_b=2, add_b=0, shift_b=0, shift=1, lo=0, hi=255)
    op = qnn.AddOp(a, a, t((1, 4)), **params)
    op.verify()
    assert {name: op.param(name) for name in qnn.AddOp.PARAMS} == params
    del params["shift_b"]
    with pytest.raises(ValueError, match="shift_b"):
        qnn.AddOp(a, a, t((1, 4)), **params)


def test_pool_constructors():
    x = value((1, 4, 9, 9))
    mp = qnn.MaxPoolOp(x, t((1, 4, 5, 5)), kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1))
    mp.verify()
    ap = qnn.AvgPoolOp(x, t((1, 4, 1, 1)), kernel=(9, 9), strides=(1, 1))
    ap.verify()
    assert (ap.mul.value.data, ap.add.value.data, ap.shift.value.data) == (1, 0, 0)
    assert (ap.lo.value.data, ap.hi.value.data) == (0, 255)


def test_shape_op_constructors():
    a, b = value((1, 2, 4, 4)), value((1, 3, 4, 4))
    qnn.ConcatOp([a, b], 1, t((1, 5, 4, 4))).verify()
    qnn.ReshapeOp(a, t((1, 32))).verify()
    tr = qnn.TransposeOp(a, (0, 2, 3, 1), t((1, 4, 4, 2)))
    tr.verify()
    assert list(tr.perm.get_values()) == [0, 2, 3, 1]
    qnn.SliceOp(b, (0, 1, 0, 0), t((1, 2, 4, 4))).verify()


def test_large_constant_round_trips_through_text_bit_exactly():
    data = np.random.default_rng(0).integers(-128, 128, size=(16, 3, 3, 3), dtype=np.int8)
    module = ModuleOp([qnn.ConstantOp(dense_attr(data))])
    parsed = Parser(ctx(), str(module)).parse_module()
    const = next(op for op in parsed.walk() if isinstance(op, qnn.ConstantOp))
    assert np.array_equal(to_numpy(const.value), data)


def test_constant_array_reads_constants_only():
    data = np.array([[1, -2], [3, 4]], dtype=np.int32)
    const = qnn.ConstantOp(dense_attr(data))
    assert np.array_equal(qnn.constant_array(const.result), data)
    assert qnn.constant_array(value((2, 2), i32)) is None
