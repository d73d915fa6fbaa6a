"""Tiled execution == untiled reference, on random small layers forced to tile.

Each case builds a one-layer fused NHWC qnn module, evaluates it with the reference
interpreter, then tiles it with a small L1 budget (`qnn-tile`), lowers it
(`convert-qnn-to-dory`) and runs the lowered IR with the tiled engine, which checks every DMA
command against the GAP-8 limits and every kernel call against in-flight transfers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.builder import ImplicitBuilder
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.dialects import dory, qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.interpreter import evaluate
from dory_xdsl.tensors import dense_attr, tensor_type
from dory_xdsl.engines.tiled_engine import compile_tiled, run_tiled


def _module(build, in_shapes):
    types = [tensor_type(s, np.uint8) for s in in_shapes]
    f = func.FuncOp("main", (types, []))
    with ImplicitBuilder(f.body) as args:
        result = build(*args)
        func.ReturnOp(result)
    f.function_type = func.FunctionType.from_lists(types, [result.type])
    return ModuleOp([f])


def _const(array):
    return qnn.ConstantOp(dense_attr(array)).result


def conv_module(rng, h, w, cin, cout, k, stride, pads, dilation, depthwise, wide):
    kh, kw = k
    group = cin if depthwise else 1
    if depthwise:
        cout = cin
    shift = 10
    kdtype = np.int64 if wide else np.int32

    def build(x):
        weight = _const(rng.integers(-128, 128, (cout, kh, kw, cin // group), dtype=np.int8))
        bias = _const(rng.integers(-500, 500, (cout,), dtype=np.int32))
        kk = _const(rng.integers(1, 40, (cout,)).astype(kdtype))
        lam = _const(rng.integers(-2000, 2000, (cout,)).astype(kdtype))
        ho = qnn.pool_out(h, kh, stride[0], pads[0] + pads[2], dilation[0])
        wo = qnn.pool_out(w, kw, stride[1], pads[1] + pads[3], dilation[1])
        return qnn.Conv2dOp(x, weight, tensor_type((1, ho, wo, cout), np.uint8), strides=stride, pads=pads,
                            dilations=dilation, group=group, layout="nhwc", bias=bias, k=kk, lambda_=lam,
                            requant=qnn.RequantAttr(shift, 0, 255)).result

    return _module(build, [(1, h, w, cin)])


def pool_module(rng, h, w, c, k, stride, pads, kind):
    ho = qnn.pool_out(h, k[0], stride[0], pads[0] + pads[2])
    wo = qnn.pool_out(w, k[1], stride[1], pads[1] + pads[3])
    out = tensor_type((1, ho, wo, c), np.uint8)

    def build(x):
        if kind == "max":
            return qnn.MaxPoolOp(x, out, kernel=k, strides=stride, pads=pads, layout="nhwc").result
        return qnn.AvgPoolOp(x, out, kernel=k, strides=stride, pads=pads, layout="nhwc",
                             mul=int(rng.integers(1, 300)), add=int(rng.integers(0, 100)), shift=3).result

    return _module(build, [(1, h, w, c)])


def add_module(rng, h, w, c):
    def build(a, b):
        return qnn.AddOp(a, b, tensor_type((1, h, w, c), np.uint8), mul_a=int(rng.integers(0, 40)), add_a=0,
                         shift_a=0, mul_b=int(rng.integers(0, 40)), add_b=0, shift_b=2, shift=3, lo=0,
                         hi=255).result

    return _module(build, [(1, h, w, c), (1, h, w, c)])


def linear_module(rng, cin, cout, requant):
    def build(x):
        weight = _const(rng.integers(-128, 128, (cout, cin), dtype=np.int8))
        bias = _const(rng.integers(-5000, 5000, (cout,), dtype=np.int32))
        if not requant:
            return qnn.LinearOp(x, weight, tensor_type((1, cout), np.int32), bias=bias).result
        kk = _const(rng.integers(1, 40, (cout,)).astype(np.int32))
        lam = _const(rng.integers(-2000, 2000, (cout,)).astype(np.int32))
        return qnn.LinearOp(x, weight, tensor_type((1, cout), np.uint8), bias=bias, k=kk, lambda_=lam,
                            requant=qnn.RequantAttr(12, 0, 255)).result

    return _module(build, [(1, cin)])


def tiled_matches_reference(module: ModuleOp, rng, l1_bytes: int, double_buffer: bool = True) -> int:
    """Run both engines; return the number of kernel calls of the tiled run."""
    main = module.body.block.first_op
    inputs = [rng.integers(0, 256, tuple(a.type.get_shape()), dtype=np.uint8) for a in main.body.block.args]
    expected = evaluate(module, inputs).outputs
    lowered = compile_tiled(module, l1_bytes=l1_bytes, double_buffer=double_buffer)
    run = run_tiled(lowered, inputs)
    for got, want in zip(run.outputs, expected):
        np.testing.assert_array_equal(got, want)
    return sum(run.tiles.values())


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
pads4 = st.tuples(*[st.integers(0, 2)] * 4)


@FAST
@given(seed=st.integers(0, 2**31), h=st.integers(3, 11), w=st.integers(3, 11), cin=st.integers(1, 9),
       cout=st.integers(1, 12), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 2), st.integers(1, 2)), pads=pads4,
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)), depthwise=st.booleans(),
       wide=st.booleans(), double_buffer=st.booleans())
def test_conv_tiled_equals_reference(seed, h, w, cin, cout, k, stride, pads, dilation, depthwise, wide,
                                     double_buffer):
    rng = np.random.default_rng(seed)
    keff = [(kk - 1) * d + 1 for kk, d in zip(k, dilation)]
    if pads[0] >= keff[0] or pads[2] >= keff[0] or pads[1] >= keff[1] or pads[3] >= keff[1]:
        pads = (0, 0, 0, 0)
    if h + pads[0] + pads[2] < keff[0] or w + pads[1] + pads[3] < keff[1]:
        return
    module = conv_module(rng, h, w, cin, cout, k, stride, pads, dilation, depthwise, wide)
    try:
        tiled_matches_reference(module, rng, l1_bytes=int(rng.integers(400, 1600)), double_buffer=double_buffer)
    except DoryError as error:
        assert "does not fit L1" in str(error)


@FAST
@given(seed=st.integers(0, 2**31), h=st.integers(2, 12), w=st.integers(2, 12), c=st.integers(1, 16),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)), stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       pads=pads4, kind=st.sampled_from(["max", "avg"]))
def test_pool_tiled_equals_reference(seed, h, w, c, k, stride, pads, kind):
    rng = np.random.default_rng(seed)
    pads = tuple(min(p, (k[0] if i % 2 == 0 else k[1]) - 1) for i, p in enumerate(pads))
    if h + pads[0] + pads[2] < k[0] or w + pads[1] + pads[3] < k[1]:
        return
    if kind == "max" and qnn.pool_out(w, k[1], stride[1], pads[1] + pads[3]) > w:
        with pytest.raises(DoryError, match="in place"):
            compile_tiled(pool_module(rng, h, w, c, k, stride, pads, kind), l1_bytes=400)
        return
    tiled_matches_reference(pool_module(rng, h, w, c, k, stride, pads, kind), rng, l1_bytes=400)


@FAST
@given(seed=st.integers(0, 2**31), h=st.integers(1, 12), w=st.integers(1, 12), c=st.integers(1, 16))
def test_add_tiled_equals_reference(seed, h, w, c):
    rng = np.random.default_rng(seed)
    tiled_matches_reference(add_module(rng, h, w, c), rng, l1_bytes=300)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), cin=st.integers(1, 300), cout=st.integers(1, 40), requant=st.booleans())
def test_linear_tiled_equals_reference(seed, cin, cout, requant):
    rng = np.random.default_rng(seed)
    try:
        tiled_matches_reference(linear_module(rng, cin, cout, requant), rng, l1_bytes=1200)
    except DoryError as error:
        assert "does not fit L1" in str(error)


def test_forced_budget_really_tiles():
    rng = np.random.default_rng(1)
    module = conv_module(rng, 16, 16, 8, 16, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), False, False)
    assert tiled_matches_reference(module, rng, l1_bytes=2500) > 4


def test_whole_layer_is_one_tile():
    rng = np.random.default_rng(2)
    module = conv_module(rng, 6, 6, 4, 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), False, False)
    assert tiled_matches_reference(module, rng, l1_bytes=36_700) == 1


def test_layer_that_cannot_fit_names_layer_and_bytes():
    rng = np.random.default_rng(3)
    module = conv_module(rng, 8, 8, 64, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), False, False)
    with pytest.raises(DoryError, match=r"layer '.*' .*does not fit L1: needs at least \d+ B .* budget is 500 B"):
        compile_tiled(module, l1_bytes=500)


def test_engine_rejects_reading_a_tile_before_its_wait():
    """Drop the first wait on the input channel: the kernel then touches L1 under a DMA."""
    rng = np.random.default_rng(4)
    module = conv_module(rng, 8, 8, 4, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), False, False)
    lowered = compile_tiled(module, l1_bytes=36_700)
    wait = next(op for op in lowered.walk() if isinstance(op, dory.DmaWaitOp) and op.channel.data == "in")
    wait.detach()
    wait.erase()
    with pytest.raises(AssertionError, match="while a DMA on channel 'in'"):
        run_tiled(lowered, [rng.integers(0, 256, (1, 8, 8, 4), dtype=np.uint8)])


def padded_conv_module(rng):
    """A conv whose input is padded by concatenating constant blocks (as the QDQ importer pads with
    a non-zero zero point): rows of 211 (a uniform block: `dory.fill`) above and below, a column of
    varying data (a read-only global) on the right."""

    def build(x):
        top = _const(np.full((1, 1, 6, 3), 211, dtype=np.uint8))
        rows = qnn.ConcatOp([top, x, top], 1, tensor_type((1, 8, 6, 3), np.uint8)).result
        side = _const(rng.integers(0, 256, (1, 8, 1, 3), dtype=np.uint8))
        padded = qnn.ConcatOp([rows, side], 2, tensor_type((1, 8, 7, 3), np.uint8)).result
        weight = _const(rng.integers(-128, 128, (4, 3, 3, 3), dtype=np.int8))
        kk = _const(rng.integers(1, 40, (4,)).astype(np.int32))
        lam = _const(rng.integers(-2000, 2000, (4,)).astype(np.int32))
        return qnn.Conv2dOp(padded, weight, tensor_type((1, 6, 5, 4), np.uint8), strides=(1, 1),
                            pads=(0, 0, 0, 0), dilations=(1, 1), group=1, layout="nhwc", k=kk, lambda_=lam,
                            requant=qnn.RequantAttr(10, 0, 255)).result

    return _module(build, [(1, 6, 6, 3)])


@pytest.mark.parametrize("l1_bytes", [36_700, 700])
def test_constant_padding_blocks_are_placed_in_l2(l1_bytes):
    rng = np.random.default_rng(5)
    module = padded_conv_module(rng)
    lowered = compile_tiled(module.clone(), l1_bytes=l1_bytes)
    fills = [op for op in lowered.walk() if isinstance(op, dory.FillOp)]
    assert [op.value.value.data for op in fills] == [211]  # one buffer for both uses of the block
    tiles = tiled_matches_reference(module, rng, l1_bytes=l1_bytes)
    assert (tiles == 1) == (l1_bytes > 1000), tiles


def test_constant_padding_blocks_on_the_host():
    """The printed C (fill loop, L3 -> L2 read of the global, concat loops) on the host runtime."""
    from dory_xdsl.engines.host_engine import host_engine

    rng = np.random.default_rng(6)
    module = padded_conv_module(rng)
    x = rng.integers(0, 256, (1, 6, 6, 3), dtype=np.uint8)
    expected = evaluate(module, [x]).outputs
    got = host_engine(module, [x]).outputs
    np.testing.assert_array_equal(got[0], expected[0])
