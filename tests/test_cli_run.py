"""`dory run` through a subprocess: golden check, --input/--output against onnxruntime, errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ort = pytest.importorskip("onnxruntime")

X_SHAPE, Y_SHAPE = (1, 2, 5, 6), (1, 4, 5, 6)


def tiny_model(path: Path, heads: int = 1) -> Path:
    """NEMO-style integer graph: Conv -> Mul(k) -> Div(2^10) -> Floor -> Clip, optionally a
    second output head (a MaxPool of the first)."""
    rng = np.random.default_rng(1)
    inits = [
        numpy_helper.from_array(rng.integers(-128, 128, (4, 2, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.integers(1, 50, (1, 4, 1, 1)).astype(np.float32), "k"),
        numpy_helper.from_array(np.array(1024.0, np.float32), "d"),
        numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
        numpy_helper.from_array(np.array(255.0, np.float32), "hi"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Mul", ["c", "k"], ["m"]),
        helper.make_node("Div", ["m", "d"], ["q"]),
        helper.make_node("Floor", ["q"], ["f"]),
        helper.make_node("Clip", ["f", "lo", "hi"], ["y"]),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(Y_SHAPE))]
    if heads == 2:
        nodes.append(helper.make_node("MaxPool", ["y"], ["p"], kernel_shape=[2, 2], strides=[2, 2]))
        outputs.append(helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 4, 2, 3]))
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X_SHAPE))],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    onnx.save(model, path)
    return path


def run_ort(model: Path, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.astype(np.float32)})


def dory(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dory_xdsl.drivers.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def write_golden(folder: Path, x: np.ndarray, y: np.ndarray, corrupt: int = 0) -> Path:
    folder.mkdir()
    (folder / "input.txt").write_text("# input (shape [5, 6, 2])\n" + "".join(
        f"{int(v)}.000,\n" for v in x.transpose(0, 2, 3, 1).reshape(-1)))
    values = y.transpose(0, 2, 3, 1).reshape(-1).astype(np.int64)
    values[:corrupt] += 3
    (folder / "out_layer0.txt").write_text("# relu1 (shape [5, 6, 4]),\\\n" + "".join(f"{v},\\\n" for v in values))
    return folder


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    model = tiny_model(root / "tiny.onnx")
    x = np.random.default_rng(0).integers(0, 256, X_SHAPE).astype(np.float32)
    (y,) = run_ort(model, x)
    return root, model, x, y


def test_golden_all_bit_exact(case):
    root, model, x, y = case
    result = dory("run", model, "--golden", write_golden(root / "good", x, y))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "input.txt (input) 1x2x5x6 read in HWC order"
    assert "out_layer0 (relu1) 1x4x5x6 HWC: OK" in lines
    assert lines[-1] == "golden: 1/1 tensors bit-exact"


def test_golden_mismatch_fails(case):
    root, model, x, y = case
    result = dory("run", model, "--golden", write_golden(root / "bad", x, y, corrupt=5))
    assert result.returncode == 1
    assert "out_layer0 (relu1) 1x4x5x6: MISMATCH (5 differing elements in HWC order, max |diff| 3)" in result.stdout
    assert result.stdout.splitlines()[-1] == "golden: 0/1 tensors bit-exact"


def test_unmatched_golden_tensor_fails(case):
    root, model, x, y = case
    folder = write_golden(root / "extra", x, y)
    (folder / "out_layer1.txt").write_text("# fc (shape [2])\n1,\n2,\n")
    result = dory("run", model, "--golden", folder)
    assert result.returncode == 1
    assert "out_layer1 (fc) ?: MISMATCH (the model has no DORY layer 1 (1 layers))" in result.stdout
    assert result.stdout.splitlines()[-1] == "golden: 1/2 tensors bit-exact"


def test_input_output_match_onnxruntime(case, tmp_path):
    _, model, _, _ = case
    x = np.random.default_rng(5).integers(0, 256, X_SHAPE).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = dory("run", model, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    assert result.returncode == 0, result.stderr
    got = np.load(tmp_path / "y.npy")
    (want,) = run_ort(model, x)
    assert got.dtype == np.uint8 and got.shape == Y_SHAPE
    np.testing.assert_array_equal(got, want)


def test_several_outputs_go_to_an_npz(tmp_path):
    model = tiny_model(tmp_path / "two.onnx", heads=2)
    x = np.random.default_rng(6).integers(0, 256, X_SHAPE).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    assert "save them to a .npz" in dory("run", model, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy").stderr
    result = dory("run", model, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npz")
    assert result.returncode == 0, result.stderr
    saved = np.load(tmp_path / "y.npz")
    for key, want in zip(["output0", "output1"], run_ort(model, x)):
        np.testing.assert_array_equal(saved[key], want)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "{model}"], "dory run needs --golden DIR or --input X.npy"),
        (["run", "{root}/missing.onnx", "--input", "{root}/x.npy"], "missing.onnx: no such model file"),
        (["run", "{model}", "--input", "{root}/wrong.npy"], "wrong.npy: shape [1, 2, 5, 5], the model takes [1, 2, 5, 6]"),
        (["run", "{model}", "--input", "{root}/half.npy"], "half.npy: float32 input holds non-integer values (0.5 at flat index 0)"),
        (["run", "{model}", "--golden", "{root}/nowhere"], "golden folder does not exist"),
        (["run", "{root}/x.npy", "--input", "{root}/x.npy"], "not a valid ONNX model"),
    ],
)
def test_user_errors_are_one_line(case, args, message):
    root, model, x, _ = case
    np.save(root / "x.npy", x)
    np.save(root / "wrong.npy", np.zeros((1, 2, 5, 5), np.uint8))
    np.save(root / "half.npy", np.full(X_SHAPE, 0.5, np.float32))
    result = dory(*(a.format(model=model, root=root) for a in args))
    assert result.returncode == 1
    assert result.stderr.startswith("dory: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_console_script_lists_engines():
    script = Path(sys.executable).parent / "dory"
    result = subprocess.run([script, "run", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    choices = re.search(r"--engine \{([a-z0-9,-]+)\}", result.stdout)
    assert choices is not None
    from dory_xdsl.engines.registry import ENGINES

    assert set(choices.group(1).split(",")) == set(ENGINES)


def engine_missing_a_layer(module, inputs):
    from dory_xdsl.engines.reference_engine import reference_engine
    from dory_xdsl.engines.result import EngineResult

    result = reference_engine(module, inputs)
    return EngineResult(result.outputs, result.layers[:-1])


def test_engines_plug_in_and_their_layer_count_is_checked(case, monkeypatch, capsys):
    from dory_xdsl.engines import registry as engines
    from dory_xdsl.drivers.cli import main

    root, model, x, y = case
    folder = root / "good" if (root / "good").exists() else write_golden(root / "good", x, y)
    monkeypatch.setitem(engines.ENGINES, "partial", lambda: engine_missing_a_layer)
    assert main(["run", str(model), "--golden", str(folder), "--engine", "partial"]) == 1
    assert "dory: error: engine 'partial' returned 0 layer outputs, the model has 1 layers" in capsys.readouterr().err
