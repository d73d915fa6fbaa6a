"""L3 in the back end (`qnn-l3-tile` + `convert-qnn-to-dory`): layers whose weights do not fit the
L2 budget stream them and run bit-exactly on the tiled and host engines, reading every parameter
byte from L3 exactly once; an activation that does not fit goes to L3 and is read back in row
windows, bit-exactly, within the L2 budget."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.builder import ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import ModuleOp

from dory_xdsl.lowering.pipeline import CompileOptions, compile_module
from dory_xdsl.dialects import dory, qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.engines.host_engine import host_result
from dory_xdsl.analysis.interpreter import evaluate
from dory_xdsl.tensors import dense_attr, tensor_type
from dory_xdsl.engines.tiled_engine import run_tiled
from dory_xdsl.transforms.gap8_lower import Gap8LowerPass

L2_FULL = 512_000


def _const(array: np.ndarray):
    return qnn.ConstantOp(dense_attr(array)).result


def layer_module(kind: str, cin: int, cout: int, hw: int, seed: int = 1) -> ModuleOp:
    """A requantized pointwise conv (hw x hw x cin -> cout) or linear layer (cin -> cout)."""
    rng = np.random.default_rng(seed)
    in_type = tensor_type((1, hw, hw, cin) if kind == "pointwise" else (1, cin), np.uint8)
    f = func.FuncOp("main", ([in_type], []))
    with ImplicitBuilder(f.body) as (x,):
        k = _const(rng.integers(1, 40, (cout,)).astype(np.int32))
        lam = _const(rng.integers(-2000, 2000, (cout,)).astype(np.int32))
        requant = qnn.RequantAttr(14, 0, 255)
        if kind == "pointwise":
            w = _const(rng.integers(-128, 128, (cout, 1, 1, cin), dtype=np.int8))
            result = qnn.Conv2dOp(x, w, tensor_type((1, hw, hw, cout), np.uint8), layout="nhwc", k=k,
                                  lambda_=lam, requant=requant).result
        else:
            w = _const(rng.integers(-128, 128, (cout, cin), dtype=np.int8))
            bias = _const(rng.integers(-5000, 5000, (cout,), dtype=np.int32))
            result = qnn.LinearOp(x, w, tensor_type((1, cout), np.uint8), bias=bias, k=k, lambda_=lam,
                                  requant=requant).result
        func.ReturnOp(result)
    f.function_type = func.FunctionType.from_lists([in_type], [result.type])
    return ModuleOp([f])


def _inputs(module: ModuleOp) -> list[np.ndarray]:
    main = module.body.block.first_op
    shape = tuple(main.body.block.args[0].type.get_shape())  # type: ignore[union-attr]
    return [np.random.default_rng(7).integers(0, 256, shape, dtype=np.uint8)]


def _param_bytes(module: ModuleOp) -> int:
    return sum(dory.memref_bytes(g.type) for g in module.ops if isinstance(g, memref.GlobalOp))  # type: ignore[arg-type]


CASES = [("pointwise", 1024, 1024, 4, 100_000), ("linear", 1024, 1000, 1, 40_000)]


@pytest.mark.parametrize("kind, cin, cout, hw, budget", CASES)
def test_streamed_layer_is_bit_exact_on_the_tiled_engine(kind, cin, cout, hw, budget) -> None:
    module = layer_module(kind, cin, cout, hw)
    inputs = _inputs(module)
    expected = evaluate(module, inputs).outputs
    Gap8LowerPass(l2_bytes=budget).apply(Context(), module)
    module.verify()
    assert _param_bytes(module) > budget  # the weights alone exceed the L2 budget
    streamed = [op for op in module.walk() if isinstance(op, memref.GetGlobalOp) and "dory.l3" in op.attributes]
    assert len(streamed) == 3  # weights, k, lambda (a bias is folded into lambda)
    run = run_tiled(module, inputs)
    np.testing.assert_array_equal(run.outputs[0], expected[0])
    assert run.dma.l3_bytes_in == _param_bytes(module)  # every parameter byte read from L3 once


def test_streaming_stays_within_the_l2_budget() -> None:
    from dory_xdsl.lowering.c_printer import NetworkPrinter

    module = layer_module("pointwise", 1024, 1024, 4)
    Gap8LowerPass(l2_bytes=100_000).apply(Context(), module)
    assert NetworkPrinter(module).print().l2_bytes <= 100_000


def test_a_roomy_l2_copies_small_parameters_whole() -> None:
    module = layer_module("pointwise", 64, 64, 4)
    Gap8LowerPass(l2_bytes=L2_FULL).apply(Context(), module)
    assert not any(isinstance(op, dory.L3StartOp) for op in module.walk())


def test_a_budget_below_the_activations_is_a_one_line_error() -> None:
    module = layer_module("pointwise", 1024, 1024, 4)
    with pytest.raises(DoryError, match=r"^L2 memory: [0-9,]+ B are live at 'layer0' .* only 20,000 B are available[^\n]*$"):
        Gap8LowerPass(l2_bytes=20_000).apply(Context(), module)


@pytest.mark.parametrize("kind, cin, cout, hw, budget", CASES)
def test_streamed_layer_is_bit_exact_on_the_host(kind, cin, cout, hw, budget, capsys) -> None:
    module = layer_module(kind, cin, cout, hw)
    inputs = _inputs(module)
    expected = evaluate(module, inputs).outputs
    options = CompileOptions(l2_code_reserved=L2_FULL - budget)
    app = compile_module(module, inputs=inputs, options=options)
    assert app.l2_bytes <= budget
    result = host_result(app, options.l1_bytes)
    np.testing.assert_array_equal(result.outputs[0], expected[0])
    reported = capsys.readouterr().out
    assert f"L3 read {_param_bytes(app.module)} B" in reported


def chain_module(seed: int = 3) -> ModuleOp:
    """3x3 conv 64x64x8 -> 32, pointwise -> 64, 3x3 stride-2 depthwise: the conv output and the
    pointwise output (131,072 + 262,144 B) cannot both be in L2 at 370,000 B."""
    rng = np.random.default_rng(seed)
    in_type = tensor_type((1, 64, 64, 8), np.uint8)

    def conv(x, cin, cout, k, stride, depthwise=False):
        pad, group = k // 2, (cin if depthwise else 1)
        w = _const(rng.integers(-128, 128, (cout, k, k, cin // group), dtype=np.int8))
        kk = _const(rng.integers(1, 40, (cout,)).astype(np.int32))
        lam = _const(rng.integers(-2000, 2000, (cout,)).astype(np.int32))
        ho = (x.type.get_shape()[1] + 2 * pad - k) // stride + 1
        return qnn.Conv2dOp(x, w, tensor_type((1, ho, ho, cout), np.uint8), strides=(stride, stride),
                            pads=(pad,) * 4, group=group, layout="nhwc", k=kk, lambda_=lam,
                            requant=qnn.RequantAttr(9 if depthwise else 14, 0, 255)).result

    f = func.FuncOp("main", ([in_type], []))
    with ImplicitBuilder(f.body) as (x,):
        result = conv(conv(conv(x, 8, 32, 3, 1), 32, 64, 1, 1), 64, 64, 3, 2, depthwise=True)
        func.ReturnOp(result)
    f.function_type = func.FunctionType.from_lists([in_type], [result.type])
    return ModuleOp([f])


def test_an_activation_that_does_not_fit_goes_through_l3() -> None:
    from dory_xdsl.lowering.c_printer import NetworkPrinter

    budget = 370_000
    module = chain_module()
    inputs = [np.random.default_rng(5).integers(0, 256, (1, 64, 64, 8), dtype=np.uint8)]
    expected = evaluate(module, inputs).outputs
    Gap8LowerPass(l2_bytes=budget).apply(Context(), module)
    module.verify()
    in_l3 = [op for op in module.walk() if isinstance(op, memref.AllocOp) and "dory.l3" in op.attributes]
    assert [dory.memref_bytes(op.memref.type) for op in in_l3] == [64 * 64 * 32]  # type: ignore[arg-type]
    run = run_tiled(module, inputs)
    np.testing.assert_array_equal(run.outputs[0], expected[0])
    assert run.dma.l3_bytes_out == 64 * 64 * 32  # written once; read back in windows (no halo: 1x1)
    assert run.dma.l3_bytes_in >= 64 * 64 * 32
    assert NetworkPrinter(module).print().l2_bytes <= budget



def test_without_activations_in_l3_the_chain_does_not_fit() -> None:
    from dory_xdsl.transforms.qnn_l3_tile import QnnL3TilePass

    module = chain_module()
    steps = [QnnL3TilePass(l2_bytes=370_000, activations_l3=False) if step.name == QnnL3TilePass.name else step
             for step in Gap8LowerPass(l2_bytes=370_000).steps()]
    with pytest.raises(DoryError, match=r"^L2 memory: [0-9,]+ B are live at 'layer1' even with its weights streamed"):
        for step in steps:
            step.apply(Context(), module)


def test_an_activation_in_l3_is_bit_exact_on_the_host(capsys) -> None:
    budget = 370_000
    module = chain_module()
    inputs = [np.random.default_rng(5).integers(0, 256, (1, 64, 64, 8), dtype=np.uint8)]
    expected = evaluate(module, inputs).outputs
    options = CompileOptions(l2_code_reserved=L2_FULL - budget)
    app = compile_module(module, inputs=inputs, options=options)
    assert app.l2_bytes <= budget
    assert "an activation in L3" in app.files["network.c"].decode()
    result = host_result(app, options.l1_bytes)
    np.testing.assert_array_equal(result.outputs[0], expected[0])
