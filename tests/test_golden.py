"""DORY golden files: parser, input order, layer numbering, comparison in HWC / CHW order."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness, TensorType
from xdsl.ir import Block, Region

from dory_xdsl.dialects import qnn
from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.dory_layers import dory_layers, layer_arrays
from dory_xdsl.golden.dory_dir import (
    GoldenSet,
    GoldenTensor,
    check_golden,
    compare,
    golden_input_array,
    read_golden_dir,
    read_golden_file,
    summary_line,
)
from dory_xdsl.analysis.interpreter import evaluate
from dory_xdsl.tensors import dense_attr
from dory_xdsl.transforms.qnn_fuse_requant import QnnFuseRequantPass
from dory_xdsl.transforms.qnn_to_nhwc import QnnToNhwcPass

UI8, I32 = IntegerType(8, Signedness.UNSIGNED), IntegerType(32)


def write(path, text: str):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "name", "shape", "values"),
    [
        ("# input (shape [1, 2, 3]),\n1.000,\n255.000,\n-3.000,", "input", (1, 2, 3), [1, 255, -3]),
        ("# relu1 (shape [2, 2]),\\\n0,\\\n5,\\\n7,\\\n-40592,\\\n", "relu1", (2, 2), [0, 5, 7, -40592]),
        ("layers.0.relu1 (shape [1, 25, 5, 64]),\\\n3,\\\n4,\\\n", "layers.0.relu1", (1, 25, 5, 64), [3, 4]),
        ("# fc (shape [4])\n1,\n2,\n\n", "fc", (4,), [1, 2]),
    ],
)
def test_read_golden_file_variants(tmp_path, text, name, shape, values):
    g = read_golden_file(write(tmp_path / "f.txt", text))
    assert (g.name, g.header_shape, g.values.tolist()) == (name, shape, values)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("1,\n2,\n", "expected a header"),
        ("# x (shape [2])\n", "no values"),
        ("# x (shape [2])\n1.5,\n2,\n", r":2: value 1.5 is not an integer"),
        ("# x (shape [2])\n1,\nabc,\n", "not a list of numbers"),
    ],
)
def test_read_golden_file_errors(tmp_path, text, message):
    with pytest.raises(DoryError, match=message):
        read_golden_file(write(tmp_path / "bad.txt", text))


def test_read_golden_dir(tmp_path):
    write(tmp_path / "input.txt", "# input (shape [2])\n1,\n2,\n")
    for n in (0, 1, 10, 2):
        write(tmp_path / f"out_layer{n}.txt", f"# l{n} (shape [1])\n{n},\n")
    write(tmp_path / "output.txt", "# output (shape [1])\n9,\n")
    g = read_golden_dir(tmp_path)
    assert list(g.layers) == [0, 1, 2, 10]
    assert g.layers[10].values.tolist() == [10]
    assert g.input is not None and g.input.values.tolist() == [1, 2]
    with pytest.raises(DoryError, match="does not exist"):
        read_golden_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DoryError, match="no out_layer"):
        read_golden_dir(tmp_path / "empty")


def tensor_of(values, header_shape=None, name="t"):
    return GoldenTensor(path=None, name=name, header_shape=header_shape, values=np.asarray(values, np.int64))  # type: ignore[arg-type]


def test_golden_input_is_hwc_unless_the_header_says_chw():
    nchw = np.arange(2 * 3 * 4).reshape(1, 2, 3, 4)
    hwc = tensor_of(nchw.transpose(0, 2, 3, 1).reshape(-1), (3, 4, 2))
    array, order = golden_input_array(hwc, (1, 2, 3, 4))
    assert order == "HWC" and np.array_equal(array, nchw)
    chw = tensor_of(nchw.reshape(-1), (1, 2, 3, 4))
    array, order = golden_input_array(chw, (1, 2, 3, 4))
    assert order == "CHW" and np.array_equal(array, nchw)
    one_d = tensor_of(np.arange(6), (3, 2))  # N x C x L = 1 x 2 x 3, channel fastest
    array, _ = golden_input_array(one_d, (1, 2, 3))
    assert array.tolist() == [[[0, 2, 4], [1, 3, 5]]]
    with pytest.raises(DoryError, match="5 values"):
        golden_input_array(tensor_of(np.arange(5)), (1, 2, 3))


def test_compare_reports_the_matching_order():
    a = np.arange(24).reshape(1, 2, 3, 4)
    assert compare(0, tensor_of(a.transpose(0, 2, 3, 1).reshape(-1)), a).order == "HWC"
    assert compare(0, tensor_of(a.reshape(-1)), a).order == "CHW"
    assert compare(0, tensor_of(np.arange(5)), np.arange(5).reshape(1, 5)).order == "flat"
    same = np.arange(4).reshape(1, 4, 1, 1)
    assert compare(0, tensor_of(np.arange(4)), same).order == "HWC=CHW"
    wrong = a.transpose(0, 2, 3, 1).reshape(-1).copy()
    wrong[[3, 7]] += [2, -9]
    bad = compare(3, tensor_of(wrong, name="relu"), a)
    assert not bad.ok and bad.differing == 2 and bad.max_diff == 9
    assert bad.line() == "out_layer3 (relu) 1x2x3x4: MISMATCH (2 differing elements in HWC order, max |diff| 9)"
    short = compare(0, tensor_of(np.arange(3)), a)
    assert not short.ok and "3 golden values, layer output has 24" in short.line()


def small_network() -> ModuleOp:
    """conv -> requant -> clip-requant -> maxpool -> add(itself) -> flatten -> linear, NCHW unfused."""
    rng = np.random.default_rng(4)
    block = Block(arg_types=[TensorType(UI8, [1, 2, 4, 4])])

    def op(o):
        block.add_op(o)
        return o.results[0]

    def const(a):
        return op(qnn.ConstantOp(dense_attr(a)))

    x = block.args[0]
    w = const(rng.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8))
    acc = op(qnn.Conv2dOp(x, w, TensorType(I32, [1, 3, 4, 4]), pads=(1, 1, 1, 1)))
    k, lam = const(np.array([3, 5, 7], np.int32)), const(np.array([100, -100, 0], np.int32))
    rq = op(qnn.RequantOp(acc, k, lam, qnn.RequantAttr(6, 0, 255), 1, TensorType(UI8, [1, 3, 4, 4])))
    one, zero = const(np.array([1], np.int32)), const(np.array([0], np.int32))
    relu = op(qnn.RequantOp(rq, one, zero, qnn.RequantAttr(0, 0, 200), 1, TensorType(UI8, [1, 3, 4, 4])))
    pool = op(qnn.MaxPoolOp(relu, TensorType(UI8, [1, 3, 2, 2]), kernel=(2, 2), strides=(2, 2)))
    added = op(qnn.AddOp(pool, pool, TensorType(UI8, [1, 3, 2, 2]), mul_a=1, add_a=0, shift_a=0, mul_b=1,
                         add_b=0, shift_b=0, shift=1, lo=0, hi=255))
    flat = op(qnn.ReshapeOp(added, TensorType(UI8, [1, 12])))
    lw = const(rng.integers(-128, 128, (2, 12)).astype(np.int8))
    out = op(qnn.LinearOp(flat, lw, TensorType(I32, [1, 2])))
    block.add_op(func.ReturnOp(out))
    main = func.FuncOp("main", ([x.type], [out.type]), Region(block))
    return ModuleOp([main])


def test_dory_layers_follow_requant_chains_and_survive_the_passes():
    from xdsl.context import Context

    module = small_network()
    layers = dory_layers(module)
    assert [type(layer.op) for layer in layers] == [qnn.Conv2dOp, qnn.MaxPoolOp, qnn.AddOp, qnn.LinearOp]
    assert isinstance(layers[0].output.owner, qnn.RequantOp)  # the clip, the end of the chain
    assert layers[0].output.owner.requant.hi.data == 200
    x = np.random.default_rng(0).integers(0, 256, (1, 2, 4, 4)).astype(np.uint8)
    before = layer_arrays(module, evaluate(module, [x]).values)
    golden = GoldenSet(None, {i: tensor_of(a.transpose(0, 2, 3, 1).reshape(-1) if a.ndim == 4 else a.reshape(-1))
                              for i, a in enumerate(before)})
    assert summary_line(check_golden(before, golden)) == "golden: 4/4 tensors bit-exact"
    ctx = Context()
    QnnFuseRequantPass().apply(ctx, module)
    QnnToNhwcPass().apply(ctx, module)
    assert [type(layer.op) for layer in dory_layers(module)] == [qnn.Conv2dOp, qnn.MaxPoolOp, qnn.AddOp, qnn.LinearOp]
    after = layer_arrays(module, evaluate(module, [x]).values)
    results = check_golden(after, golden)
    assert [r.order for r in results] == ["HWC", "HWC", "HWC", "flat"]
    golden.layers[7] = tensor_of([1])
    results = check_golden(after, golden)
    assert summary_line(results) == "golden: 4/5 tensors bit-exact"
    assert results[-1].line() == "out_layer7 (t) ?: MISMATCH (the model has no DORY layer 7 (4 layers))"
