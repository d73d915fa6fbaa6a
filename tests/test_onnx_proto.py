"""The light ONNX loader (`onnx_proto`): same values as the `onnx` package, without importing it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dory_xdsl.frontend.onnx_proto import attribute_value, infer_shapes, load_model, to_array

MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"
FILES = sorted(MODELS.glob("dory_examples/**/*.onnx")) + sorted(MODELS.glob("tflite_qdq/**/*.onnx"))


def test_loads_without_importing_onnx_or_ml_dtypes():
    code = ("import sys; from dory_xdsl.frontend.onnx_proto import load_model, infer_shapes, onnx_pb; "
            "m = onnx_pb().ModelProto(); m.graph.node.add(op_type='Relu', input=['x'], output=['y']); "
            "load_model(m.SerializeToString()); "
            "print(sorted(k for k in sys.modules if k == 'onnx' or k.startswith('ml_dtypes')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_later_import_onnx_shares_the_classes():
    code = ("from dory_xdsl.frontend.onnx_proto import onnx_pb; pb = onnx_pb(); import onnx; "
            "print(onnx.ModelProto is pb.ModelProto, onnx.TensorProto is pb.TensorProto)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]


@pytest.mark.skipif(not FILES, reason="../shared/models is absent")
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(MODELS)))
def test_same_values_and_shapes_as_the_onnx_package(path: Path):
    import onnx
    from onnx import helper, numpy_helper, shape_inference

    data = path.read_bytes()
    light, full = load_model(data), onnx.load_model_from_string(data)
    tensors = list(full.graph.initializer)
    for node in full.graph.node:
        for attr in node.attribute:
            expected = helper.get_attribute_value(attr)
            got = attribute_value(attr)
            assert type(got) is type(expected) and got == expected, (node.name, attr.name)
            if attr.type == attr.TENSOR:
                tensors.append(attr.t)
    assert tensors
    for tensor in tensors:
        expected, got = numpy_helper.to_array(tensor), to_array(tensor)
        assert got.dtype == expected.dtype and got.shape == expected.shape, tensor.name
        assert np.array_equal(got, expected, equal_nan=got.dtype.kind == "f"), tensor.name
    assert infer_shapes(light) == shape_inference.infer_shapes(full)


@pytest.mark.skipif(not FILES, reason="../shared/models is absent")
def test_dory_compile_and_dory_opt_import_only_what_they_need(tmp_path):
    model = MODELS / "dory_examples" / "Nemo" / "Residual_connection_test_1" / "model_int.onnx"
    code = ("import sys; from dory_xdsl.drivers import cli; "
            f"assert cli.main(['compile', {str(model)!r}, '-o', {str(tmp_path / 'app')!r}, '--drop-float-tail']) == 0; "
            "print('MODULES', 'onnx' in sys.modules, 'ml_dtypes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "MODULES False False" in out  # protobuf + shape inference only, no onnx package
    mlir = tmp_path / "x.mlir"
    mlir.write_text('func.func @f() {\n  func.return\n}\n')
    code = ("import sys; from dory_xdsl.drivers.opt import main; "
            f"main([{str(mlir)!r}]); "
            "print('MODULES', *(m in sys.modules for m in ('onnx', 'z3', 'ml_dtypes')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "MODULES False False False" in out
