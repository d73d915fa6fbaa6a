"""`dory_xdsl.semantics.reference` against naive per-element loops (Python ints) and onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dory_xdsl.semantics import reference as ref


def wrap(value: int, bits: int) -> int:
    half = 1 << (bits - 1)
    return ((value + half) % (1 << bits)) - half


# ----------------------------------------------------------------------------- naive models


def naive_conv(x, w, bias, strides, pads, dilations, group):
    """Loops straight from the qnn.conv2d docstring (HWC input, OHWI weights), Python ints."""
    n, h, wd, cin = x.shape
    cout, kh, kw, cin_g = w.shape
    sy, sx = strides
    pt, pl, pb, pr = pads
    dy, dx = dilations
    ho = (h + pt + pb - dy * (kh - 1) - 1) // sy + 1
    wo = (wd + pl + pr - dx * (kw - 1) - 1) // sx + 1
    out = np.zeros((n, ho, wo, cout), dtype=np.int64)
    cout_g = cout // group
    for b in range(n):
        for oy in range(ho):
            for ox in range(wo):
                for co in range(cout):
                    g = co // cout_g
                    total = int(bias[co]) if bias is not None else 0
                    for ky in range(kh):
                        for kx in range(kw):
                            y, xx = oy * sy + ky * dy - pt, ox * sx + kx * dx - pl
                            if 0 <= y < h and 0 <= xx < wd:
                                for ci in range(cin_g):
                                    total += int(x[b, y, xx, g * cin_g + ci]) * int(w[co, ky, kx, ci])
                    out[b, oy, ox, co] = wrap(total, 32)
    return out


def naive_requant(acc, k, lam, shift, lo, hi, wide, axis):
    out = np.zeros(acc.shape, dtype=np.int64)
    bits = 64 if wide else 32
    for idx in np.ndindex(*acc.shape):
        c = idx[axis] if k.size > 1 else 0
        v = wrap(wrap(int(k[c]) * int(acc[idx]), bits) + int(lam[c]), bits)
        out[idx] = min(max(v >> shift, lo), hi)
    return out


def naive_pool(x, kernel, strides, pads, reduce):
    n, h, w, c = x.shape
    (kh, kw), (sy, sx), (pt, pl, pb, pr) = kernel, strides, pads
    ho, wo = (h + pt + pb - kh) // sy + 1, (w + pl + pr - kw) // sx + 1
    out = np.zeros((n, ho, wo, c), dtype=np.int64)
    for b, oy, ox, ch in np.ndindex(n, ho, wo, c):
        window = [
            int(x[b, oy * sy + ky - pt, ox * sx + kx - pl, ch])
            for ky in range(kh)
            for kx in range(kw)
            if 0 <= oy * sy + ky - pt < h and 0 <= ox * sx + kx - pl < w
        ]
        out[b, oy, ox, ch] = reduce(window)
    return out


# ----------------------------------------------------------------------------- strategies


@st.composite
def conv_cases(draw):
    group = draw(st.sampled_from([1, 2, 3]))
    cin_g, cout_g = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sy, sx = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    dy, dx = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(dy * (kh - 1) + 1, 6))
    w = draw(st.integers(dx * (kw - 1) + 1, 6))
    signed = draw(st.booleans())
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (1, h, w, cin_g * group)) if signed else rng.integers(0, 256, (1, h, w, cin_g * group))
    x = x.astype(np.int8 if signed else np.uint8)
    wt = rng.integers(-128, 128, (cout_g * group, kh, kw, cin_g)).astype(np.int8)
    bias = rng.integers(-(2**31), 2**31, cout_g * group).astype(np.int32) if draw(st.booleans()) else None
    return x, wt, bias, (sy, sx), pads, (dy, dx), group


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_acc_matches_naive_loops(case):
    x, w, bias, strides, pads, dilations, group = case
    got = ref.conv2d_acc(x, w, bias, strides, pads, dilations, group)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, naive_conv(x, w, bias, strides, pads, dilations, group))


def test_conv2d_acc_wraps_to_32_bits():
    x = np.full((1, 1, 1, 1), 255, np.uint8)
    w = np.full((1, 1, 1, 1), -128, np.int8)
    bias = np.array([-(2**31) + 100], np.int32)  # 255 * -128 = -32640 underflows int32
    got = ref.conv2d_acc(x, w, bias)
    assert int(got[0, 0, 0, 0]) == wrap(-(2**31) + 100 - 32640, 32) > 0


def test_conv2d_acc_rejects_bad_group():
    with pytest.raises(ValueError, match="group"):
        ref.conv2d_acc(np.zeros((1, 3, 3, 4), np.uint8), np.zeros((2, 1, 1, 3), np.int8), None, group=2)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4), st.integers(1, 5), st.booleans(), st.integers(0, 2**31), st.booleans()
)
def test_linear_acc_matches_naive(n_in, n_out, with_bias, seed, signed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (2, n_in)).astype(np.int8) if signed else rng.integers(0, 256, (2, n_in)).astype(np.uint8)
    w = rng.integers(-128, 128, (n_out, n_in)).astype(np.int8)
    bias = rng.integers(-(2**31), 2**31, n_out).astype(np.int32) if with_bias else None
    got = ref.linear_acc(x, w, bias)
    for b, o in np.ndindex(2, n_out):
        total = sum(int(x[b, i]) * int(w[o, i]) for i in range(n_in)) + (int(bias[o]) if with_bias else 0)
        assert int(got[b, o]) == wrap(total, 32)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**31), st.booleans(), st.integers(0, 40), st.sampled_from([1, 3]),
    st.sampled_from([(0, 255), (-128, 127), (0, 15), (-(2**31), 2**31 - 1)]), st.integers(0, 2),
)
def test_requantize_matches_naive(seed, wide, shift, channels, bounds, axis):
    rng = np.random.default_rng(seed)
    bits = 64 if wide else 32
    shift = min(shift, bits - 1)
    shape = [2, 2, 2]
    shape[axis] = 3
    acc = rng.integers(-(2**31), 2**31, shape).astype(np.int32)
    # constants up to the full width, so the products wrap
    hi_const = 2**62 if wide else 2**31
    k = rng.integers(-hi_const, hi_const, channels if channels == 1 else 3).astype(np.int64)
    lam = rng.integers(-hi_const, hi_const, k.size).astype(np.int64)
    lo, hi = bounds
    got = ref.requantize(acc, k, lam, shift, lo, hi, wide, axis)
    np.testing.assert_array_equal(got, naive_requant(acc, k, lam, shift, lo, hi, wide, axis))


def test_requantize_32_bit_wraps_before_shift():
    acc = np.array([70000], np.int32)
    k = np.array([40000], np.int64)  # 2.8e9 wraps to a negative int32
    narrow = ref.requantize(acc, k, np.array([0]), 8, -(2**31), 2**31 - 1, wide=False)
    wide = ref.requantize(acc, k, np.array([0]), 8, -(2**31), 2**31 - 1, wide=True)
    assert int(narrow[0]) == wrap(70000 * 40000, 32) >> 8 < 0
    assert int(wide[0]) == (70000 * 40000) >> 8


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**31), st.integers(-(2**20), 2**20), st.integers(-(2**20), 2**20),
    st.integers(0, 31), st.integers(0, 31), st.integers(0, 31),
    st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1),
)
def test_add_matches_naive(seed, mul_a, mul_b, shift_a, shift_b, shift, add_a, add_b):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (1, 2, 3, 2)).astype(np.uint8)
    b = rng.integers(-128, 128, (1, 2, 3, 2)).astype(np.int8)
    got = ref.add(a, b, mul_a, add_a, shift_a, mul_b, add_b, shift_b, shift, 0, 255)
    for idx in np.ndindex(*a.shape):
        left = wrap(int(a[idx]) * mul_a + add_a, 32) >> shift_a
        right = wrap(int(b[idx]) * mul_b + add_b, 32) >> shift_b
        assert int(got[idx]) == min(max(wrap(left + right, 32) >> shift, 0), 255)


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pads = (draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1)),
            draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1)))
    h, w = draw(st.integers(kh, 6)), draw(st.integers(kw, 6))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    signed = draw(st.booleans())
    lo = -128 if signed else 0
    x = rng.integers(lo, lo + 256, (1, h, w, 2)).astype(np.int8 if signed else np.uint8)
    return x, (kh, kw), strides, pads


@settings(max_examples=50, deadline=None)
@given(pool_cases())
def test_maxpool_matches_naive(case):
    x, kernel, strides, pads = case
    got = ref.maxpool(x, kernel, strides, pads)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, naive_pool(x, kernel, strides, pads, max))


@settings(max_examples=50, deadline=None)
@given(pool_cases(), st.integers(1, 300), st.integers(0, 500), st.integers(0, 8))
def test_avgpool_matches_naive(case, mul, offset, shift):
    x, kernel, strides, pads = case
    count = kernel[0] * kernel[1]
    got = ref.avgpool(x, kernel, strides, pads, mul=mul, add=offset, shift=shift, lo=0, hi=255)
    want = naive_pool(x, kernel, strides, pads, lambda win: min(max((sum(win) * mul // count + offset) >> shift, 0), 255))
    np.testing.assert_array_equal(got, want)


def test_avgpool_default_is_floor_mean():
    x = np.array([1, 2, 2, 2], np.uint8).reshape(1, 2, 2, 1)
    assert int(ref.avgpool(x, (2, 2), (2, 2))[0, 0, 0, 0]) == 1  # 7 / 4 floors to 1


def test_cast_exact_refuses_to_wrap():
    assert ref.cast_exact(np.array([0, 255]), np.uint8, "x").dtype == np.uint8
    with pytest.raises(ValueError, match="do not fit uint8"):
        ref.cast_exact(np.array([256]), np.uint8, "x")


# ----------------------------------------------------------------------------- onnxruntime


ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402


def run_onnx(node, inputs: dict[str, np.ndarray], out_type, out_rank):
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape) for name, a in inputs.items()],
        [helper.make_tensor_value_info("y", out_type, [None] * out_rank)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)[0]


@pytest.mark.parametrize(
    ("group", "strides", "pads", "dilations", "kernel"),
    [(1, (1, 1), (1, 1, 1, 1), (1, 1), (3, 3)), (1, (2, 1), (0, 2, 1, 0), (1, 2), (3, 2)),
     (4, (1, 2), (1, 0, 0, 1), (2, 1), (2, 3)), (2, (1, 1), (0, 0, 0, 0), (1, 1), (1, 1))],
)
def test_conv2d_acc_matches_onnxruntime_convinteger(group, strides, pads, dilations, kernel):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (1, 4, 7, 8)).astype(np.uint8)
    w = rng.integers(-128, 128, (8, 4 // group, *kernel)).astype(np.int8)
    node = helper.make_node("ConvInteger", ["x", "w"], ["y"], group=group, strides=list(strides),
                            dilations=list(dilations), pads=[pads[0], pads[1], pads[2], pads[3]])
    want = run_onnx(node, {"x": x, "w": w}, TensorProto.INT32, 4)
    got = ref.conv2d_acc(x.transpose(0, 2, 3, 1), w.transpose(0, 2, 3, 1), None, strides, pads, dilations, group)
    np.testing.assert_array_equal(got.transpose(0, 3, 1, 2), want)


def test_linear_acc_matches_onnxruntime_matmulinteger():
    """onnxruntime's x86 u8 x s8 GEMM adds pairs of adjacent u8*s8 products in saturating 16-bit
    lanes (VPMADDUBSW) on CPUs without VNNI (microsoft/onnxruntime#7524, #16105; PR #12088's
    opt-in `session.x64quantprecision` is still off by default in 1.32.0): with full-range u8
    inputs 16 of these 30 sums are wrong on an AVX2 CPU without VNNI (-81357 for -85824). So
    the full range is checked against int64 numpy (exact on every CPU), and onnxruntime on u7
    inputs, where no pair can leave int16 whatever the kernel pairs: |x*w + x'*w'| <= 2*127*128."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (3, 50)).astype(np.uint8)
    w = rng.integers(-128, 128, (10, 50)).astype(np.int8)
    exact = x.astype(np.int64) @ w.astype(np.int64).T
    np.testing.assert_array_equal(ref.linear_acc(x, w, None), exact)
    u7 = x >> 1
    assert int(u7.max()) * 128 * 2 < 1 << 15
    node = helper.make_node("MatMulInteger", ["x", "wt"], ["y"])
    want = run_onnx(node, {"x": u7, "wt": np.ascontiguousarray(w.T)}, TensorProto.INT32, 2)
    np.testing.assert_array_equal(ref.linear_acc(u7, w, None), want)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_maxpool_matches_onnxruntime(dtype):
    rng = np.random.default_rng(5)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, (1, 3, 7, 9)).astype(dtype)
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 2, 1])
    want = run_onnx(node, {"x": x}, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), 4)
    got = ref.maxpool(x.transpose(0, 2, 3, 1), (3, 2), (2, 2), (1, 0, 2, 1))
    np.testing.assert_array_equal(got.transpose(0, 3, 1, 2), want)
