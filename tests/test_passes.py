"""`qnn-fuse-requant` and `qnn-to-nhwc` preserve what a module computes.

Random small modules (hypothesis) and the shared DORY networks are evaluated with the reference
interpreter before and after each pass and both; the outputs must be identical.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness, TensorType
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from dory_xdsl.dialects import qnn
from dory_xdsl.analysis.interpreter import evaluate
from dory_xdsl.tensors import dense_attr
from dory_xdsl.transforms.qnn_fuse_requant import QnnFuseRequantPass
from dory_xdsl.transforms.qnn_to_nhwc import QnnToNhwcPass, hwc_flatten_columns, keeps_element_order

UI8 = IntegerType(8, Signedness.UNSIGNED)
I32 = IntegerType(32)
MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "dory_examples"


def tensor(shape, elem=UI8) -> TensorType:
    return TensorType(elem, list(shape))


def shape_of(value: SSAValue) -> tuple[int, ...]:
    assert isinstance(value.type, TensorType)
    return tuple(value.type.get_shape())


class RandomNet:
    """Builds `func.func @main` from randomly drawn layers, in the importer's form (NCHW,
    unfused conv2d/linear -> i32 -> qnn.requant along the channel axis)."""

    def __init__(self, draw, input_shape: tuple[int, ...]):
        self.draw = draw
        self.rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        self.block = Block(arg_types=[tensor(input_shape)])
        self.outputs: list[SSAValue] = []

    def op(self, op: Operation) -> SSAValue:
        self.block.add_op(op)
        return op.results[0]

    def const(self, array: np.ndarray) -> SSAValue:
        return self.op(qnn.ConstantOp(dense_attr(array)))

    def requant(self, x: SSAValue, axis: int, channels: int, clip=(0, 255)) -> SSAValue:
        wide = self.draw(st.booleans())
        per_channel = self.draw(st.booleans())
        n = channels if per_channel else 1
        dtype = np.int64 if wide else np.int32
        k = self.const(self.rng.integers(1, 256, n).astype(dtype))
        lam = self.const(self.rng.integers(-1024, 1024, n).astype(dtype))
        shift = self.draw(st.integers(0, 14))
        return self.op(
            qnn.RequantOp(x, k, lam, qnn.RequantAttr(shift, *clip), axis, tensor(shape_of(x)))
        )

    def relu(self, x: SSAValue) -> SSAValue:
        one, zero = self.const(np.array([1], np.int32)), self.const(np.array([0], np.int32))
        hi = self.draw(st.sampled_from([255, 127, 63]))
        return self.op(
            qnn.RequantOp(x, one, zero, qnn.RequantAttr(0, 0, hi), 1, tensor(shape_of(x)))
        )

    def conv(self, x: SSAValue) -> SSAValue:
        _, c, h, w = shape_of(x)
        kind = self.draw(st.sampled_from(["dense", "depthwise", "grouped"]))
        divisors = [g for g in range(1, c + 1) if c % g == 0]
        group = {"dense": 1, "depthwise": c, "grouped": self.draw(st.sampled_from(divisors))}[kind]
        cout = group * self.draw(st.integers(1, 2 if group > 1 else 6))
        kh, kw = self.draw(st.integers(1, 3)), self.draw(st.integers(1, 3))
        strides = (self.draw(st.integers(1, 2)), self.draw(st.integers(1, 2)))
        dilations = (self.draw(st.integers(1, 2)), self.draw(st.integers(1, 2)))
        pads = tuple(self.draw(st.integers(0, 2)) for _ in range(4))
        ho = qnn.pool_out(h, kh, strides[0], pads[0] + pads[2], dilations[0])
        wo = qnn.pool_out(w, kw, strides[1], pads[1] + pads[3], dilations[1])
        if ho < 1 or wo < 1:
            kh = kw = 1
            ho = qnn.pool_out(h, 1, strides[0], pads[0] + pads[2])
            wo = qnn.pool_out(w, 1, strides[1], pads[1] + pads[3])
        weight = self.const(self.rng.integers(-128, 128, (cout, c // group, kh, kw)).astype(np.int8))
        bias = None
        if self.draw(st.booleans()):
            bias = self.const(self.rng.integers(-5000, 5000, cout).astype(np.int32))
        acc = self.op(qnn.Conv2dOp(
            x, weight, tensor((1, cout, ho, wo), I32), strides=strides, pads=pads,
            dilations=dilations, group=group, bias=bias,
        ))
        out = self.requant(acc, 1, cout)
        return self.relu(out) if self.draw(st.booleans()) else out

    def pool(self, x: SSAValue) -> SSAValue:
        _, c, h, w = shape_of(x)
        kh, kw = self.draw(st.integers(1, min(3, h))), self.draw(st.integers(1, min(3, w)))
        strides = (self.draw(st.integers(1, 3)), self.draw(st.integers(1, 3)))
        pads = (
            self.draw(st.integers(0, kh - 1)), self.draw(st.integers(0, kw - 1)),
            self.draw(st.integers(0, kh - 1)), self.draw(st.integers(0, kw - 1)),
        )
        ho = qnn.pool_out(h, kh, strides[0], pads[0] + pads[2])
        wo = qnn.pool_out(w, kw, strides[1], pads[1] + pads[3])
        out_type = tensor((1, c, ho, wo))
        common = dict(kernel=(kh, kw), strides=strides, pads=pads)
        if self.draw(st.booleans()):
            return self.op(qnn.MaxPoolOp(x, out_type, **common))
        return self.op(qnn.AvgPoolOp(
            x, out_type, mul=self.draw(st.integers(1, 9)), add=self.draw(st.integers(0, 20)),
            shift=self.draw(st.integers(0, 3)), **common,
        ))

    def residual(self, x: SSAValue) -> SSAValue:
        y = self.requant(x, 1, shape_of(x)[1])
        params = {name: self.draw(st.integers(1, 4)) for name in ("mul_a", "mul_b")}
        params.update({name: self.draw(st.integers(0, 8)) for name in ("add_a", "add_b")})
        params.update({name: self.draw(st.integers(0, 2)) for name in ("shift_a", "shift_b", "shift")})
        return self.op(qnn.AddOp(x, y, tensor(shape_of(x)), lo=0, hi=255, **params))

    def concat(self, x: SSAValue) -> SSAValue:
        y = self.requant(x, 1, shape_of(x)[1])
        axis = self.draw(st.integers(1, 3))
        shape = list(shape_of(x))
        shape[axis] *= 2
        return self.op(qnn.ConcatOp([y, x], axis, tensor(shape)))

    def head(self, x: SSAValue) -> SSAValue:
        flat = self.op(qnn.ReshapeOp(x, tensor((1, int(np.prod(shape_of(x)))))))
        cout = self.draw(st.integers(1, 5))
        weight = self.const(self.rng.integers(-128, 128, (cout, shape_of(flat)[1])).astype(np.int8))
        bias = self.const(self.rng.integers(-5000, 5000, cout).astype(np.int32)) if self.draw(st.booleans()) else None
        acc = self.op(qnn.LinearOp(flat, weight, tensor((1, cout), I32), bias=bias))
        return self.requant(acc, 1, cout) if self.draw(st.booleans()) else acc

    def module(self) -> ModuleOp:
        self.block.add_op(func.ReturnOp(*self.outputs))
        types = ([a.type for a in self.block.args], [v.type for v in self.outputs])
        return ModuleOp([func.FuncOp("main", types, Region(self.block))])


class Case(tuple):
    """(module, image); shows the module as IR when hypothesis reports a failing example."""

    def __repr__(self) -> str:
        return f"\n{self[0]}\n"


@st.composite
def random_modules(draw) -> Case:
    c, h, w = draw(st.integers(1, 4)), draw(st.integers(1, 8)), draw(st.integers(1, 8))
    net = RandomNet(draw, (1, c, h, w))
    x = net.block.args[0]
    layers = draw(st.lists(st.sampled_from(["conv", "conv", "pool", "residual", "concat"]), min_size=1, max_size=4))
    for layer in layers:
        x = getattr(net, layer)(x)
        if draw(st.integers(0, 4)) == 0:
            net.outputs.append(x)  # an intermediate NCHW output
    net.outputs.append(net.head(x) if draw(st.booleans()) else x)
    image = net.rng.integers(0, 256, (1, c, h, w)).astype(np.uint8)
    return Case((net.module(), image))


def run_passes(module: ModuleOp, *passes: ModulePass) -> ModuleOp:
    result = module.clone()
    for p in passes:
        p.apply(Context(), result)
        result.verify()
    return result


def assert_same_outputs(before: ModuleOp, after: ModuleOp, inputs: list[np.ndarray]) -> None:
    expected = evaluate(before, inputs).outputs
    got = evaluate(after, inputs).outputs
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == e.shape and g.dtype == e.dtype, f"output {i}"
        assert np.array_equal(g, e), f"output {i} differs"


def ops_of(module: ModuleOp, kind) -> list:
    return [op for op in module.walk() if isinstance(op, kind)]


SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(random_modules())
def test_fuse_requant_preserves_outputs(case):
    module, image = case
    module.verify()
    fused = run_passes(module, QnnFuseRequantPass())
    assert_same_outputs(module, fused, [image])
    # every accumulator in these nets feeds one channel-axis requant: all of them are fused
    assert all(op.requant is not None for op in ops_of(fused, qnn.Conv2dOp))
    assert not any(
        isinstance(op.input.owner, qnn.Conv2dOp | qnn.LinearOp) and op.input.owner.requant is None
        for op in ops_of(fused, qnn.RequantOp)
    )


@SETTINGS
@given(random_modules())
def test_to_nhwc_preserves_outputs(case):
    module, image = case
    nhwc = run_passes(module, QnnToNhwcPass())
    assert_same_outputs(module, nhwc, [image])
    assert all(op.layout.data == "nhwc" for op in ops_of(nhwc, qnn.Conv2dOp | qnn.MaxPoolOp | qnn.AvgPoolOp))
    assert ops_of(nhwc, func.FuncOp)[0].function_type == ops_of(module, func.FuncOp)[0].function_type


@SETTINGS
@given(random_modules(), st.booleans())
def test_both_passes_preserve_outputs(case, fuse_first):
    module, image = case
    passes = (QnnFuseRequantPass(), QnnToNhwcPass())
    both = run_passes(module, *(passes if fuse_first else passes[::-1]))
    assert_same_outputs(module, both, [image])
    again = run_passes(both, *passes)
    assert str(again) == str(both), "the passes are not idempotent"


def test_hwc_flatten_columns():
    c, h, w = 3, 2, 4
    chw = np.arange(c * h * w).reshape(c, h, w)
    assert np.array_equal(chw.reshape(-1)[hwc_flatten_columns(c, h, w)], chw.transpose(1, 2, 0).reshape(-1))


@pytest.mark.parametrize(
    ("shape", "perm", "expected"),
    [
        ((1, 1, 5, 7), (0, 2, 3, 1), True),  # C = 1
        ((1, 3, 1, 1), (0, 2, 3, 1), True),  # H = W = 1
        ((1, 3, 1, 7), (0, 2, 3, 1), False),
        ((2, 3, 4, 5), (0, 1, 2, 3), True),
        ((1, 3, 4, 5), (0, 3, 1, 2), False),
    ],
)
def test_keeps_element_order(shape, perm, expected):
    x = np.arange(int(np.prod(shape))).reshape(shape)
    same = np.array_equal(x.transpose(perm).reshape(-1), x.reshape(-1))
    assert keeps_element_order(shape, perm) == expected == same


def test_to_nhwc_permutes_constant_weights_not_activations():
    """Conv weights become OHWI data, FC weights get HWC columns, the input gets a transpose."""
    rng = np.random.default_rng(1)
    net_block = Block(arg_types=[tensor((1, 2, 3, 3))])
    x = net_block.args[0]
    w_data = rng.integers(-128, 128, (4, 2, 3, 3)).astype(np.int8)
    fc_data = rng.integers(-128, 128, (5, 36)).astype(np.int8)
    w = qnn.ConstantOp(dense_attr(w_data))
    conv = qnn.Conv2dOp(x, w.result, tensor((1, 4, 3, 3), I32), pads=(1, 1, 1, 1))
    k = qnn.ConstantOp(dense_attr(np.array([1], np.int32)))
    rq = qnn.RequantOp(conv.result, k.result, k.result, qnn.RequantAttr(4, 0, 255), 1, tensor((1, 4, 3, 3)))
    flat = qnn.ReshapeOp(rq.result, tensor((1, 36)))
    fc_w = qnn.ConstantOp(dense_attr(fc_data))
    fc = qnn.LinearOp(flat.result, fc_w.result, tensor((1, 5), I32))
    for op in (w, conv, k, rq, flat, fc_w, fc, func.ReturnOp(fc.result)):
        net_block.add_op(op)
    module = ModuleOp([func.FuncOp("main", ([x.type], [fc.result.type]), Region(net_block))])
    nhwc = run_passes(module, QnnToNhwcPass())
    from dory_xdsl.tensors import to_numpy

    (new_conv,) = ops_of(nhwc, qnn.Conv2dOp)
    assert np.array_equal(to_numpy(new_conv.weight.owner.value), w_data.transpose(0, 2, 3, 1))
    (new_fc,) = ops_of(nhwc, qnn.LinearOp)
    assert np.array_equal(to_numpy(new_fc.weight.owner.value), fc_data[:, hwc_flatten_columns(4, 3, 3)])
    (transpose,) = ops_of(nhwc, qnn.TransposeOp)
    assert transpose.input is ops_of(nhwc, func.FuncOp)[0].body.block.args[0]
    (requant,) = ops_of(nhwc, qnn.RequantOp)
    assert requant.axis.value.data == 3
    image = rng.integers(0, 256, (1, 2, 3, 3)).astype(np.uint8)
    assert_same_outputs(module, nhwc, [image])


# ----------------------------------------------------------------------------- shared networks


def dory_networks() -> list[Path]:
    if not MODELS.is_dir():
        return []
    folders = sorted(p for p in (MODELS / "Nemo").iterdir() if p.is_dir()) + [MODELS / "Quantlab" / "Dronet"]
    return [next(p for p in sorted(f.glob("*.onnx")) if "ortcompat" not in p.name) for f in folders]


@pytest.mark.parametrize("model", dory_networks() or [None], ids=lambda p: p.parent.name if p else "missing")
def test_shared_networks_fused_nhwc_match_import(model):
    if model is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared models are missing at {MODELS}")
        pytest.skip(f"shared models are missing at {MODELS}")
    from dory_xdsl.frontend.onnx_import import import_onnx_file

    module = import_onnx_file(model)
    fused = run_passes(module, QnnFuseRequantPass(), QnnToNhwcPass())
    args = ops_of(module, func.FuncOp)[0].body.block.args
    rng = np.random.default_rng(0)
    inputs = [rng.integers(0, 256, shape_of(a)).astype(np.uint8) for a in args]
    assert_same_outputs(module, fused, inputs)
    assert not any(op.requant is None for op in ops_of(fused, qnn.Conv2dOp))
    assert all(op.layout.data == "nhwc" for op in ops_of(fused, qnn.Conv2dOp | qnn.MaxPoolOp | qnn.AvgPoolOp))
