"""`qnn-legalize-pulp` and the exact PULP-NN forms behind it (`dory_xdsl.semantics.pulp_legalize`).

Every rewrite is checked on the whole ui8 input range: a requant on a tensor holding every
value 0..255 in every channel, an add on all 256 x 256 input pairs. The legalized IR must give
the interpreter's results of the original op, and the tiled engine (numpy models of the
PULP-NN kernels, with pulp_nn_add's int16 multipliers and uint16 truncation) must agree.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.semantics import kernels

from dory_xdsl.semantics import reference
from dory_xdsl.dialects import qnn
from dory_xdsl.analysis.interpreter import evaluate
from dory_xdsl.analysis.kernel_layers import kernel_layer
from dory_xdsl.semantics.pulp_legalize import pulp_add_args
from dory_xdsl.semantics.pulp_legalize import UI8, add_decomposition, add_form, requant_table
from dory_xdsl.tensors import tensor_type
from dory_xdsl.engines.tiled_engine import compile_tiled, run_tiled
from dory_xdsl.transforms.qnn_legalize_pulp import DORY_LAYERS, LEGALIZED, QnnLegalizePulpPass

from test_tiled_engine import _const, _module

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _legalize(module: ModuleOp) -> ModuleOp:
    module = module.clone()
    QnnLegalizePulpPass().apply(Context(), module)
    module.verify()
    return module


def _ops(module: ModuleOp) -> list:
    return list(module.body.block.first_op.body.block.ops)


def requant_module(k, lam, shift, lo, hi, channels):
    bits = 64 if k.dtype == np.int64 else 32

    def build(x):
        return qnn.RequantOp(x, _const(k), _const(lam), qnn.RequantAttr(shift, lo, hi), 3,
                             tensor_type((1, 4, 64, channels), np.uint8)).result

    return _module(build, [(1, 4, 64, channels)]), bits


def every_value(channels: int) -> np.ndarray:
    """[1, 4, 64, C] holding 0..255 in every channel (a different order per channel)."""
    rng = np.random.default_rng(channels)
    return np.stack([rng.permutation(256) for _ in range(channels)], axis=-1).reshape(1, 4, 64, channels).astype(np.uint8)


def _same_everywhere(module: ModuleOp, legal: ModuleOp, inputs) -> None:
    want = evaluate(module, inputs).outputs
    for got, expected in zip(evaluate(legal, inputs).outputs, want):
        np.testing.assert_array_equal(got, expected)
    run = run_tiled(compile_tiled(legal.clone(), l1_bytes=4000), inputs)
    for got, expected in zip(run.outputs, want):
        np.testing.assert_array_equal(got, expected)


@SETTINGS
@given(per_tensor=st.booleans(), wide=st.booleans(), channels=st.integers(1, 5), shift=st.integers(0, 20),
       kmax=st.sampled_from([3, 60, 5000, 2**20]), lam_max=st.sampled_from([0, 100, 2**16, 2**24]),
       negative=st.booleans(), lo=st.sampled_from([0, 0, 0, 5]), hi=st.sampled_from([255, 255, 255, 250]),
       seed=st.integers(0, 2**31))
def test_requant_is_legalized_exactly(per_tensor, wide, channels, shift, kmax, lam_max, negative, lo, hi, seed):
    rng = np.random.default_rng(seed)
    n = 1 if per_tensor else channels
    dtype = np.int64 if wide else np.int32
    k = rng.integers(-kmax if negative else 0, kmax + 1, n).astype(dtype)
    lam = rng.integers(-lam_max, lam_max + 1, n).astype(dtype)
    module, bits = requant_module(k, lam, shift, lo, hi, channels)
    legal = _legalize(module)
    table = requant_table(k, lam, shift, lo, hi, bits)
    kernel_clip = np.array_equal(table, requant_table(k, lam, shift, 0, 255, bits))
    left = [op for op in _ops(legal) if isinstance(op, qnn.RequantOp)]
    assert bool(left) != kernel_clip  # legalized exactly when the clip behaves as clip8
    if left:
        return
    (layer,) = [op for op in _ops(legal) if isinstance(op, (qnn.AddOp, qnn.Conv2dOp))]
    kernel_layer(layer, 0)  # maps to one PULP-NN kernel
    assert isinstance(layer, qnn.AddOp) == (add_form(table[0]) is not None and bool(np.all(table == table[0])))
    _same_everywhere(module, legal, [every_value(channels)])


def test_requant_uses_the_add_kernel_when_exact_and_a_depthwise_conv_otherwise():
    k, lam = np.array([53], np.int32), np.array([0], np.int32)
    (op,) = [o for o in _ops(_legalize(requant_module(k, lam, 7, 0, 255, 3)[0])) if isinstance(o, qnn.AddOp)]
    assert isinstance(op, qnn.AddOp) and op.lhs is op.rhs
    assert (op.param("mul_a") + op.param("mul_b"), op.param("shift")) == (53, 7)
    rounded = _legalize(requant_module(k, np.array([64], np.int32), 7, 0, 255, 3)[0])
    (conv,) = [o for o in _ops(rounded) if isinstance(o, qnn.Conv2dOp)]
    assert conv.group.value.data == 3 and conv.attributes[LEGALIZED].data == "input"


def add_module(params):
    def build(a, b):
        return qnn.AddOp(a, b, tensor_type((1, 256, 16, 16), np.uint8), **params).result

    return _module(build, [(1, 256, 16, 16), (1, 256, 16, 16)])


def all_pairs() -> list[np.ndarray]:
    """a[0, i, j, c] = i and b[0, i, j, c] = 16*j + c: every (a, b) pair exactly once."""
    a = np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None, None], (1, 256, 16, 16)).copy()
    b = np.broadcast_to(np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16), (1, 256, 16, 16)).copy()
    return [a, b]


@st.composite
def add_params(draw):
    def side():
        shift = draw(st.integers(0, 20))
        mul = draw(st.integers(0, (3 << shift) // 2))  # terms mostly in [0, 383]
        offset = draw(st.integers(-(1 << shift) * 40, (1 << shift) * 40)) if draw(st.booleans()) else 0
        return mul, offset, shift
    (mul_a, add_a, shift_a), (mul_b, add_b, shift_b) = side(), side()
    return dict(mul_a=mul_a, add_a=add_a, shift_a=shift_a, mul_b=mul_b, add_b=add_b, shift_b=shift_b,
                shift=draw(st.integers(0, 2)), lo=draw(st.sampled_from([0, 0, 3])), hi=draw(st.sampled_from([255, 255, 250])))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=add_params())
def test_add_is_legalized_exactly_or_left_alone(params):
    module = add_module(params)
    legal = _legalize(module)
    adds = [op for op in _ops(legal) if isinstance(op, qnn.AddOp)]
    convs = [op for op in _ops(legal) if isinstance(op, qnn.Conv2dOp)]
    (final,) = adds
    mappable = not isinstance(pulp_add_args(params), str)
    if mappable or add_decomposition(params) is None:
        assert not convs and final.properties == _ops(module)[0].properties  # untouched
        if not mappable:  # the back end's generic add (dory_add_requant) computes it
            assert "mul_a" in kernel_layer(final, 0).scalars
            return
    for i, op in enumerate([*convs, final]):
        kernel_layer(op, i)
    assert all(op.attributes[LEGALIZED].data == "input" for op in convs)
    _same_everywhere(module, legal, all_pairs())


def test_quantlab_add_becomes_two_depthwise_requants_and_a_plain_add():
    params = dict(mul_a=245015, add_a=262144, shift_a=19, mul_b=132671, add_b=131072, shift_b=18, shift=0,
                  lo=0, hi=255)
    legal = _legalize(add_module(params))
    layers = [op for op in _ops(legal) if isinstance(op, (qnn.Conv2dOp, qnn.AddOp))]
    assert [op.name for op in layers] == ["qnn.conv2d", "qnn.conv2d", "qnn.add"]
    assert tuple(legal.attributes[DORY_LAYERS].get_values()) == (-1, -1, 0)
    assert pulp_add_args({n: layers[2].param(n) for n in qnn.AddOp.PARAMS}) == (1, 1, 0)
    _same_everywhere(add_module(params), legal, all_pairs())


def test_offsets_move_terms_into_range_together():
    # t_a in [-100, 155], t_b in [100, 355]: no term fits [0, 255] alone, t_a + 100 and t_b - 100 do
    params = dict(mul_a=1, add_a=-100, shift_a=0, mul_b=1, add_b=100, shift_b=0, shift=1, lo=0, hi=255)
    plan = add_decomposition(params)
    assert plan is not None and plan.lhs.lam == 0 and plan.rhs.lam == 0
    got = reference.add(plan.lhs.table()[:, None], plan.rhs.table()[None, :], **plan.final)
    np.testing.assert_array_equal(got, reference.add(UI8[:, None], UI8[None, :], **params))


def test_add_without_exact_decomposition_is_left_to_the_generic_add():
    # t_a spans [1, 383] and the halved sum never saturates there: no 8-bit t_a can be exact
    params = dict(mul_a=3, add_a=1, shift_a=1, mul_b=1, add_b=1, shift_b=1, shift=1, lo=0, hi=255)
    assert add_decomposition(params) is None
    module = add_module(params)
    legal = _legalize(module)
    assert DORY_LAYERS not in legal.attributes
    _same_everywhere(module, legal, all_pairs())


@SETTINGS
@given(m=st.integers(0, 65534), d=st.integers(0, 31))
def test_add_form_finds_a_form_whenever_pulp_nn_add_can_compute_the_table(m, d):
    table = kernels.add(UI8, UI8, out_mult1=min(m, 32767), out_mult2=m - min(m, 32767), out_shift=d)
    form = add_form(table)
    if (255 * m) >> d < 1 << 16:  # the kernel's own arguments are a valid form
        assert form is not None and form[2] <= d
    if form is not None:
        m1, m2, shift = form
        assert 0 <= m1 <= 32767 and 0 <= m2 <= 32767 and shift < 32 and (255 * (m1 + m2)) >> shift < 1 << 16
        np.testing.assert_array_equal(kernels.add(UI8, UI8, out_mult1=m1, out_mult2=m2, out_shift=shift), table)


def test_add_form_rejects_tables_no_multiplier_gives():
    assert add_form(np.full(256, 7)) is None  # f(0) != 0
    assert add_form(np.array([0, 5] + [0] * 254)) is None  # not monotone
    assert add_form(np.minimum(UI8 * UI8, 255)) is None  # not linear


@SETTINGS
@given(mul_a=st.integers(0, 33000), mul_b=st.integers(0, 33000), shift_a=st.integers(0, 8),
       shift_b=st.integers(0, 8), shift=st.integers(0, 12), shift_lhs=st.booleans())
def test_pulp_add_args_are_exact_whenever_accepted(mul_a, mul_b, shift_a, shift_b, shift, shift_lhs):
    shift_a, shift_b = (shift_a, 0) if shift_lhs else (0, shift_b)  # both shifted is rejected outright
    params = dict(mul_a=mul_a, add_a=0, shift_a=shift_a, mul_b=mul_b, add_b=0, shift_b=shift_b, shift=shift,
                  lo=0, hi=255)
    args = pulp_add_args(params)
    if isinstance(args, str):
        assert (mul_a << shift_b) > 32767 or (mul_b << shift_a) > 32767 or (255 * ((mul_a << shift_b) + (mul_b << shift_a))) >> (shift_a + shift_b + shift) >= 1 << 16
        return
    m1, m2, d = args
    got = kernels.add(UI8[:, None], UI8[None, :], out_mult1=m1, out_mult2=m2, out_shift=d)
    np.testing.assert_array_equal(got, reference.add(UI8[:, None], UI8[None, :], **params))


def test_pulp_add_args_reject_what_the_kernel_cannot_do():
    base = dict(mul_a=1, add_a=0, shift_a=0, mul_b=1, add_b=0, shift_b=0, shift=0, lo=0, hi=255)
    assert "32-bit shift" in pulp_add_args({**base, "shift_a": 16, "mul_b": 0, "shift": 16})
    assert "16 bits" in pulp_add_args({**base, "mul_a": 32767, "mul_b": 32767, "shift": 2})
    assert "[0, 32767]" in pulp_add_args({**base, "mul_a": 1 << 14, "shift_b": 2})
    assert "clip" in pulp_add_args({**base, "hi": 127})
    assert pulp_add_args({**base, "mul_a": 3, "shift_a": 2, "mul_b": 5}) == (3, 20, 2)
