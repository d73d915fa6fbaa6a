"""`dory_xdsl.analysis.interpreter` on hand-built qnn modules: every op, both layouts, fused and unfused."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness, TensorType
from xdsl.ir import Block, Operation, Region, SSAValue

from dory_xdsl.semantics import reference as ref
from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.interpreter import evaluate
from dory_xdsl.tensors import dense_attr

UI8, I8, I32 = IntegerType(8, Signedness.UNSIGNED), IntegerType(8), IntegerType(32)
RNG = np.random.default_rng(11)


def t(shape, elem=UI8) -> TensorType:
    return TensorType(elem, list(shape))


class Builder:
    def __init__(self, *arg_types: TensorType):
        self.block = Block(arg_types=list(arg_types))

    @property
    def args(self):
        return self.block.args

    def __call__(self, op: Operation) -> SSAValue:
        self.block.add_op(op)
        return op.results[0]

    def const(self, array) -> SSAValue:
        return self(qnn.ConstantOp(dense_attr(np.asarray(array))))

    def module(self, *outputs: SSAValue) -> ModuleOp:
        self.block.add_op(func.ReturnOp(*outputs))
        main = func.FuncOp("main", ([a.type for a in self.args], [o.type for o in outputs]), Region(self.block))
        module = ModuleOp([main])
        module.verify()
        return module


# network used by several tests: conv (strided, padded, grouped, dilated) -> requant -> maxpool
X_SHAPE = (1, 4, 9, 8)
W_OIHW = RNG.integers(-128, 128, (6, 2, 3, 2)).astype(np.int8)
BIAS = RNG.integers(-5000, 5000, 6).astype(np.int32)
K = RNG.integers(1, 2000, 6).astype(np.int32)
LAM = RNG.integers(-(2**20), 2**20, 6).astype(np.int32)
CONV = dict(strides=(2, 1), pads=(1, 0, 2, 1), dilations=(1, 2), group=2)


def expected_conv_pool(x_nchw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same computation directly with reference.py (NCHW out)."""
    acc = ref.conv2d_acc(x_nchw.transpose(0, 2, 3, 1), W_OIHW.transpose(0, 2, 3, 1), BIAS,
                         CONV["strides"], CONV["pads"], CONV["dilations"], CONV["group"])
    rq = ref.requantize(acc, K, LAM, 10, 0, 255, wide=False, axis=3)
    pooled = ref.maxpool(rq, (2, 2), (2, 2), (0, 0, 1, 1))
    return rq.transpose(0, 3, 1, 2), pooled.transpose(0, 3, 1, 2)


def conv_pool_module(layout: str, fused: bool) -> ModuleOp:
    nhwc = layout == "nhwc"
    in_shape = (1, 9, 8, 4) if nhwc else X_SHAPE
    b = Builder(t(in_shape))
    w = b.const(W_OIHW.transpose(0, 2, 3, 1) if nhwc else W_OIHW)
    bias, k, lam = b.const(BIAS), b.const(K), b.const(LAM)
    acc_shape = (1, 5, 7, 6) if nhwc else (1, 6, 5, 7)
    requant = qnn.RequantAttr(10, 0, 255)
    if fused:
        y = b(qnn.Conv2dOp(b.args[0], w, t(acc_shape), layout=layout, bias=bias, k=k, lambda_=lam,
                           requant=requant, **CONV))
    else:
        acc = b(qnn.Conv2dOp(b.args[0], w, t(acc_shape, I32), layout=layout, bias=bias, **CONV))
        y = b(qnn.RequantOp(acc, k, lam, requant, 3 if nhwc else 1, t(acc_shape)))
    pool_shape = (1, 3, 4, 6) if nhwc else (1, 6, 3, 4)
    p = b(qnn.MaxPoolOp(y, t(pool_shape), kernel=(2, 2), strides=(2, 2), pads=(0, 0, 1, 1), layout=layout))
    return b.module(y, p)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("fused", [False, True])
def test_conv_requant_maxpool(layout, fused):
    x = RNG.integers(0, 256, X_SHAPE).astype(np.uint8)
    module = conv_pool_module(layout, fused)
    feed = x.transpose(0, 2, 3, 1) if layout == "nhwc" else x
    ev = evaluate(module, [feed])
    want_rq, want_pool = expected_conv_pool(x)
    got_rq, got_pool = ev.outputs
    if layout == "nhwc":
        got_rq, got_pool = got_rq.transpose(0, 3, 1, 2), got_pool.transpose(0, 3, 1, 2)
    assert ev.outputs[0].dtype == np.uint8
    np.testing.assert_array_equal(got_rq, want_rq)
    np.testing.assert_array_equal(got_pool, want_pool)
    assert len(ev.values) == len(list(module.walk())) - 3 + 1  # every op result + the argument
    assert want_rq.max() > 0 and want_rq.min() == 0  # the case exercises the clip


def test_i64_requant_computes_in_64_bits_and_i32_wraps():
    acc = np.array([[70000, -70000]], np.int32)
    k_val = 40000  # 70000 * 40000 overflows int32
    outs = {}
    for elem, dtype in ((I32, np.int32), (IntegerType(64), np.int64)):
        b = Builder(t((1, 2), I8))
        w = b.const(np.eye(2, dtype=np.int8))
        bias = b.const(acc[0])
        k, lam = b.const(np.array([k_val], dtype)), b.const(np.array([0], dtype))
        y = b(qnn.LinearOp(b.args[0], w, t((1, 2), I32), bias=bias, k=k, lambda_=lam,
                           requant=qnn.RequantAttr(20, -(2**31), 2**31 - 1)))
        outs[dtype] = evaluate(b.module(y), [np.zeros((1, 2), np.int8)]).outputs[0]  # acc = bias
    assert outs[np.int64].tolist() == [[(70000 * 40000) >> 20, (-70000 * 40000) >> 20]]
    wrapped = [((v * 40000 + 2**31) % 2**32 - 2**31) >> 20 for v in (70000, -70000)]
    assert outs[np.int32].tolist() == [wrapped]


def test_add_avgpool_reshape_linear_slice_concat_transpose():
    b = Builder(t((1, 2, 4, 4)), t((1, 2, 4, 4)))
    s = b(qnn.AddOp(b.args[0], b.args[1], t((1, 2, 4, 4)), mul_a=3, add_a=1, shift_a=1, mul_b=5,
                    add_b=0, shift_b=0, shift=2, lo=0, hi=255))
    a = b(qnn.AvgPoolOp(s, t((1, 2, 2, 2)), kernel=(2, 2), strides=(2, 2), mul=7, add=3, shift=2))
    c = b(qnn.ConcatOp([a, a], 1, t((1, 4, 2, 2))))
    tr = b(qnn.TransposeOp(c, (0, 2, 3, 1), t((1, 2, 2, 4))))
    flat = b(qnn.ReshapeOp(tr, t((1, 16))))
    w = RNG.integers(-128, 128, (3, 16)).astype(np.int8)
    lin = b(qnn.LinearOp(flat, b.const(w), t((1, 3), I32)))
    sl = b(qnn.SliceOp(lin, (0, 1), t((1, 2), I32)))
    module = b.module(sl)
    x1, x2 = RNG.integers(0, 256, (2, 1, 2, 4, 4)).astype(np.uint8)
    ev = evaluate(module, [x1, x2])
    added = ref.add(x1, x2, 3, 1, 1, 5, 0, 0, 2, 0, 255)
    pooled = ref.avgpool(added.transpose(0, 2, 3, 1), (2, 2), (2, 2), mul=7, add=3, shift=2).transpose(0, 3, 1, 2)
    cat = np.concatenate([pooled, pooled], axis=1)
    vec = cat.transpose(0, 2, 3, 1).reshape(1, 16)
    want = (vec.astype(np.int64) @ w.T.astype(np.int64))[:, 1:3]
    np.testing.assert_array_equal(ev.outputs[0], want)
    assert ev.outputs[0].dtype == np.int32


def test_float_inputs_holding_integers_are_accepted():
    module = conv_pool_module("nchw", fused=True)
    x = RNG.integers(0, 256, X_SHAPE)
    a = evaluate(module, [x.astype(np.float32)]).outputs
    b = evaluate(module, [x.astype(np.uint8)]).outputs
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([np.zeros((1, 4, 9, 7), np.uint8)], "shape"),
        ([np.full(X_SHAPE, 0.5, np.float32)], "non-integer"),
        ([np.full(X_SHAPE, 256, np.int32)], "do not fit uint8"),
        ([np.full(X_SHAPE, -1, np.int32)], "do not fit uint8"),
        ([], "takes 1 input"),
    ],
)
def test_bad_inputs_are_user_errors(inputs, message):
    with pytest.raises(DoryError, match=message):
        evaluate(conv_pool_module("nchw", fused=False), inputs)


def test_unknown_op_is_a_user_error():
    from xdsl.dialects import arith
    from xdsl.dialects.builtin import i32

    b = Builder(t((1, 2)))
    b(arith.ConstantOp.from_int_and_width(1, i32))
    module = b.module(b.args[0])
    with pytest.raises(DoryError, match="arith.constant.*cannot evaluate"):
        evaluate(module, [np.zeros((1, 2), np.uint8)])
