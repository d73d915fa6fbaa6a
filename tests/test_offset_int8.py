"""Signed 8-bit activations (Deeploy / Quantlab int8 graphs): `qnn-offset-int8`, the engines'
signed boundary (`signed_io`), input range checks, and `dory run` typing a float input by its data.

The networks are `make_graph.int8_cnn` / `int8_residual` / `int8_avgpool` (int8 values in a
float input, every requantization clipped to [-128, 127]); the oracle is onnxruntime on the float-exact graphs.
Before signed activations were supported, the reference engine refused the input (`values in
[-128, 127] do not fit uint8`) and the back end refused the `i8` layers.
"""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from onnx_graphs import as_integers, make_graph, onnxruntime_values
from xdsl.context import Context

from dory_xdsl.drivers import cli
from dory_xdsl.dialects import qnn
from dory_xdsl.engines.registry import prepare_engine
from dory_xdsl.errors import DoryError
from dory_xdsl.analysis.interpreter import evaluate, main_function
from dory_xdsl.frontend.onnx_import import import_onnx_bytes
from dory_xdsl.transforms.qnn_offset_int8 import QnnOffsetInt8Pass, is_i8

pytest.importorskip("onnxruntime")

GRAPHS = {"int8_cnn": (1, 3, 8, 8), "int8_residual": (1, 4, 8, 8), "int8_avgpool": (1, 2, 6, 6)}


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def case(request):
    """(name, model bytes, int8 input as float, onnxruntime output)."""
    name = request.param
    model = make_graph.GRAPHS[name]()
    x = np.random.default_rng(len(name)).integers(-128, 128, size=GRAPHS[name]).astype(np.float32)
    y = as_integers(onnxruntime_values(model, [model.graph.output[0].name], {"x": x})[0])
    return name, model.SerializeToString(), x, y


def signed_module(data: bytes):
    return import_onnx_bytes(data, "net.onnx", frozenset({0}))


def test_float_input_is_int8_only_when_asked(case):
    _, data, x, _ = case
    assert "ui8" in str(main_function(import_onnx_bytes(data, "net.onnx")).function_type.inputs.data[0])
    with pytest.raises(DoryError, match=r"^input 0: values in \[-1[0-9]+, 1[0-9]+\] do not fit uint8"):
        evaluate(import_onnx_bytes(data, "net.onnx"), [x])
    assert str(main_function(signed_module(data)).function_type.inputs.data[0]).endswith("xi8>")


def test_pass_holds_every_value_plus_128(case):
    """The rewritten IR on the reference interpreter: every output is the original + 128."""
    _, data, x, y = case
    module = signed_module(data)
    want = evaluate(module, [x]).outputs[0]
    np.testing.assert_array_equal(want, y)
    QnnOffsetInt8Pass().apply(Context(), module)
    module.verify()
    for op in module.walk():  # the only i8 values left are weights
        assert all(not is_i8(r) for r in op.results) or isinstance(op, qnn.ConstantOp), op.name
    main = main_function(module)
    assert all("ui8" in str(t) for t in main.function_type.inputs.data + main.function_type.outputs.data)
    got = evaluate(module, [x.astype(np.int64) + 128]).outputs[0]
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got.astype(np.int64) - 128, y)


@pytest.mark.parametrize("engine", ["reference", "tiled", "host"])
def test_engines_bit_exact_against_onnxruntime(case, engine):
    _, data, x, y = case
    module = signed_module(data)
    result = prepare_engine(engine, module)([x])
    assert result.outputs[0].dtype == np.int8
    np.testing.assert_array_equal(result.outputs[0], y)
    reference = prepare_engine("reference", module)([x])
    assert len(result.layers) == len(reference.layers)
    for got, want in zip(result.layers, reference.layers):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("engine", ["reference", "tiled", "host"])
def test_every_engine_rejects_an_input_out_of_range(engine):
    model = make_graph.GRAPHS["int8_cnn"]()
    x = np.zeros(GRAPHS["int8_cnn"], dtype=np.float32)
    x[0, 0, 0, 0] = 128
    run = prepare_engine(engine, signed_module(model.SerializeToString()))
    with pytest.raises(DoryError, match=r"^input 0: values in \[0, 128\] do not fit int8 \(\[-128, 127\]\)$"):
        run([x])
    unsigned = prepare_engine(engine, import_onnx_bytes(model.SerializeToString(), "net.onnx"))
    x[0, 0, 0, 0] = -1
    with pytest.raises(DoryError, match=r"^input 0: values in \[-1, 0\] do not fit uint8 \(\[0, 255\]\)$"):
        unsigned([x])


def test_dory_run_reads_a_negative_float_input_as_int8(case, tmp_path, capsys):
    name, data, x, y = case
    (tmp_path / "net.onnx").write_bytes(data)
    np.save(tmp_path / "x.npy", x)
    code = cli.main(["run", str(tmp_path / "net.onnx"), "--input", str(tmp_path / "x.npy"),
                     "--output", str(tmp_path / "y.npy"), "--engine", "tiled"])
    out = capsys.readouterr().out
    assert code == 0
    assert "note: input 0: negative values in a float graph input: read as int8" in out
    got = np.load(tmp_path / "y.npy")
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, y)


def test_offset_rules_on_padded_avgpool_concat_and_slice():
    """Rules the networks above do not reach: an average pooling with padding (explicit
    padding with 128), a concat with an int8 constant, a transpose and a slice."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import IntegerType, ModuleOp, TensorType
    from xdsl.ir import Block, Region

    from dory_xdsl.tensors import dense_attr

    i8 = IntegerType(8)
    block = Block(arg_types=[TensorType(i8, [1, 2, 4, 4])])
    x = block.args[0]

    def add(op):
        block.add_op(op)
        return op.results[0]

    const = add(qnn.ConstantOp(dense_attr(np.arange(-16, 16, dtype=np.int8).reshape(1, 2, 4, 4))))
    cat = add(qnn.ConcatOp([x, const], 1, TensorType(i8, [1, 4, 4, 4])))
    pool = add(qnn.AvgPoolOp(cat, TensorType(i8, [1, 4, 4, 4]), kernel=(3, 3), strides=(1, 1), pads=(1, 1, 1, 1),
                             mul=3, add=-5, shift=1, lo=-128, hi=127))
    t = add(qnn.TransposeOp(pool, (0, 2, 3, 1), TensorType(i8, [1, 4, 4, 4])))
    s = add(qnn.SliceOp(t, (0, 1, 0, 1), TensorType(i8, [1, 2, 4, 2])))
    block.add_op(func.ReturnOp(s))
    module = ModuleOp([func.FuncOp("main", ([x.type], [s.type]), Region(block))])
    module.verify()
    rng = np.random.default_rng(2)
    xs = rng.integers(-128, 128, size=(1, 2, 4, 4))
    want = evaluate(module, [xs]).outputs[0]
    QnnOffsetInt8Pass().apply(Context(), module)
    module.verify()
    assert "pads = array<i64: 0, 0, 0, 0>" in str(module) and "qnn.concat" in str(module)
    got = evaluate(module, [xs + 128]).outputs[0]
    np.testing.assert_array_equal(got.astype(np.int64) - 128, want)


def test_int8_typed_onnx_input_needs_no_option():
    """An ONNX int8 input is `i8` as it is: the back end runs it too."""
    model = make_graph.GRAPHS["int8_cnn"]()
    model.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.INT8
    module = import_onnx_bytes(model.SerializeToString(), "net.onnx")
    x = np.random.default_rng(5).integers(-128, 128, size=GRAPHS["int8_cnn"]).astype(np.int8)
    want = evaluate(module, [x]).outputs[0]
    np.testing.assert_array_equal(prepare_engine("tiled", module)([x]).outputs[0], want)


def _layer_tensors(model: onnx.ModelProto) -> list[str]:
    """The ONNX tensors of the DORY layers of the int8 graphs: every Clip (the end of a
    requantization) and MaxPool output, in node order."""
    return [n.output[0] for n in model.graph.node if n.op_type in ("Clip", "MaxPool")]


@pytest.fixture(scope="module")
def golden_dir(case, tmp_path_factory):
    """A DORY golden folder of the case: input.txt with negative values, every layer from
    onnxruntime (the signed values)."""
    from dory_xdsl.golden.writer import write_golden_dir

    name, data, x, _ = case
    model = onnx.ModelProto.FromString(data)
    names = _layer_tensors(model)
    layers = [as_integers(v) for v in onnxruntime_values(model, names, {"x": x})]
    folder = tmp_path_factory.mktemp(f"{name}_golden")
    (folder / "model.onnx").write_bytes(data)
    write_golden_dir(folder, x.astype(np.int64), list(zip(names, layers)))
    return folder, layers


@pytest.mark.parametrize("engine", ["reference", "tiled", "host"])
def test_dory_run_golden_folder_in_the_signed_domain(golden_dir, engine, capsys):
    folder, layers = golden_dir
    code = cli.main(["run", str(folder / "model.onnx"), "--golden", str(folder), "--engine", engine])
    out = capsys.readouterr().out.splitlines()
    assert "note: input 0: negative values in a float graph input: read as int8" in out
    assert out[-1] == f"golden: {len(layers)}/{len(layers)} tensors bit-exact"
    assert code == 0


def test_dory_compile_golden_checksums_of_signed_layers(golden_dir, tmp_path, capsys):
    """The embedded checksums are the byte sums of the golden values + 128 (the bytes the
    generated C holds for a signed activation)."""
    from dory_xdsl.lowering.c_printer import byte_checksum

    folder, layers = golden_dir
    assert cli.main(["compile", str(folder / "model.onnx"), "-o", str(tmp_path / "app"), "--golden", str(folder)]) == 0
    capsys.readouterr()
    embedded = re.findall(r"dory_check_layer\((\d+), \w+, \d+, 1, (\d+)u\)", (tmp_path / "app" / "network.c").read_text())
    assert sorted(int(s) for _, s in embedded) == sorted(
        byte_checksum((layer + 128).astype(np.uint8).tobytes()) for layer in layers)
