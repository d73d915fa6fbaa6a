"""Networks in the forms other exporters give them (issue 13): bit-exact on every engine.

The graphs (`foreign_graphs`) reproduce what broke on integer networks from elsewhere:
requantization constants of any shape (`[C]`, `[C,1,1]`, `[1,C,1,1]`, `[1]`, `[1,N]`),
Deeploy's `RequantShift` node (default and custom domain, unsigned and signed), shape-only ops
between an average pooling's division and its `Floor`, DORY folders with several golden cases
and a 2-bit signed input, values wider than 8 bits. The oracle is onnxruntime on float-exact
graphs (for `RequantShift`, on its expansion into standard ops).
"""

from __future__ import annotations

import numpy as np
import pytest
from foreign_graphs import CASES, oracle

from dory_xdsl.engines.registry import prepare_engine
from dory_xdsl.frontend.onnx_import import import_onnx_bytes

pytest.importorskip("onnxruntime")
ENGINES = ("reference", "tiled", "host")


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    built = CASES[request.param]()
    return request.param, built, [oracle(built, x) for x in built.inputs]


@pytest.mark.parametrize("engine", ENGINES)
def test_bit_exact_on_every_engine(case, engine):
    name, built, expected = case
    module = import_onnx_bytes(built.model.SerializeToString(), name)
    run = prepare_engine(engine, module)
    for x, want in zip(built.inputs, expected):
        outputs = run([x]).outputs
        assert len(outputs) == len(want)
        for ours, theirs in zip(outputs, want):
            np.testing.assert_array_equal(ours.reshape(-1).astype(np.int64), theirs.reshape(-1))


def test_outputs_are_not_degenerate(case):
    """The calibration spreads the values: a test on constant outputs could not fail."""
    _, _, expected = case
    for outputs in expected:
        for out in outputs:
            assert len(np.unique(out)) >= min(3, out.size)


@pytest.fixture(scope="module")
def wide_residual_dir(tmp_path_factory):
    import onnx

    from foreign_graphs import wide_residual, write_golden

    folder = tmp_path_factory.mktemp("wide_residual")
    case, layers = wide_residual()
    write_golden(folder, case, layers, case.inputs[0])
    onnx.save(case.model, folder / "model.onnx")
    return folder


@pytest.mark.parametrize("engine", ["reference", "host"])
def test_wider_than_8_bits_is_a_warning_and_a_range_overflow(wide_residual_dir, engine, capsys):
    from dory_xdsl.drivers.cli import main

    code = main(["run", str(wide_residual_dir / "model.onnx"), "--golden", str(wide_residual_dir),
                 "--engine", engine])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines() == [
        "dory: warning: Add node 'Add_14': values in [0, 382] do not fit 8 bits (no Clip in the graph); "
        "the deployed code saturates them to [0, 255]"]
    lines = captured.out.splitlines()
    overflow = next(line for line in lines if line.startswith("out_layer2 "))
    assert overflow.startswith("out_layer2 (t32) 1x4x8x8 HWC: RANGE OVERFLOW (")
    assert "golden values outside [0, 255], in [0, 382]: Add node 'Add_14' has no Clip" in overflow
    assert overflow.endswith("all other values match)")
    downstream = next(line for line in lines if line.startswith("out_layer3 "))
    assert "MISMATCH" in downstream and downstream.endswith("; downstream of the range overflow at out_layer2)")
    assert lines[-1] == "golden: 2/4 tensors bit-exact, 1 range overflow"


def test_compile_warns_about_values_wider_than_8_bits(wide_residual_dir, tmp_path, capsys):
    from dory_xdsl.drivers.cli import main

    assert main(["compile", str(wide_residual_dir / "model.onnx"), "-o", str(tmp_path / "app")]) == 0
    assert "dory: warning: Add node 'Add_14': values in [0, 382]" in capsys.readouterr().err


def _dory_folder(root, signed_bits):
    import json

    import onnx

    from foreign_graphs import dory_cases, write_golden

    folder = root / f"cases_{signed_bits or 8}"
    case, layers = dory_cases(signed_bits)
    for i, x in enumerate(case.inputs):
        write_golden(folder, case, layers, x, prefix=str(i))
    config = {"onnx_file": "model.onnx", "BNRelu_bits": 32, "n_inputs": len(case.inputs)}
    if signed_bits:
        config |= {"input_bits": signed_bits, "input_signed": True}
    (folder / "config_network.json").write_text(json.dumps(config))
    onnx.save(case.model, folder / "model.onnx")
    return folder


@pytest.fixture(scope="module")
def dory_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("dory_cases")
    return {bits: _dory_folder(root, bits) for bits in (None, 2)}


def _run_cases(folder, engine, capsys):
    from dory_xdsl.drivers.cli import main

    code = main(["run", str(folder / "model.onnx"), "--golden", str(folder), "--engine", engine])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("engine", ENGINES)
def test_every_golden_case_of_a_dory_folder_is_checked(dory_folders, engine, capsys):
    code, lines = _run_cases(dory_folders[None], engine, capsys)
    assert [line for line in lines if line.startswith("input_")] == [
        f"input_{i}.txt (input) 1x3x8x8 read in HWC order" for i in range(3)]
    checked = [line.split(" ")[0] for line in lines if line.endswith(": OK")]
    assert checked == [f"out_{i}_layer{n}" for i in range(3) for n in range(3)]
    assert lines[-1] == "golden: 9/9 tensors bit-exact (3 cases)" and code == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_two_bit_signed_input_declared_in_the_config(dory_folders, engine, capsys):
    code, lines = _run_cases(dory_folders[2], engine, capsys)
    assert lines[0] == "config_network.json: input 2-bit signed [-2, 1]"
    assert lines[-1] == "golden: 9/9 tensors bit-exact (3 cases)" and code == 0


def test_golden_case_errors_are_one_line(dory_folders, tmp_path, capsys):
    import shutil

    from dory_xdsl.drivers.cli import main

    folder = shutil.copytree(dory_folders[2], tmp_path / "broken")
    (folder / "out_2_layer0.txt").rename(folder / "out_3_layer0.txt")
    assert main(["run", str(folder / "model.onnx"), "--golden", str(folder)]) == 1
    assert capsys.readouterr().err == f"dory: error: {folder}: out_3_layer<N>.txt golden files without input_3.txt\n"
    (folder / "out_3_layer0.txt").unlink()
    (folder / "input_2.txt").write_text("# input (shape [8, 8, 3])\n" + "-3,\n" * 192)
    assert main(["run", str(folder / "model.onnx"), "--golden", str(folder)]) == 1
    assert capsys.readouterr().err == (
        f"dory: error: {folder / 'input_2.txt'}: values in [-3, -3] are outside the 2-bit signed input range "
        "[-2, 1] of config_network.json\n")
    other = dory_folders[None]
    assert main(["run", str(other / "model.onnx"), "--golden", str(other),
                 "--config", str(folder / "config_network.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"dory: error: {other / 'input_0.txt'}: values in [")
    assert err.endswith(" are outside the 2-bit signed input range [-2, 1] of config_network.json\n")
    (tmp_path / "four.json").write_text('{"n_inputs": 4}')
    assert main(["run", str(other / "model.onnx"), "--golden", str(other), "--config", str(tmp_path / "four.json")]) == 1
    assert capsys.readouterr().err == f"dory: error: {tmp_path / 'four.json'}: n_inputs is 4, {other} has 3 input_<i>.txt cases\n"

