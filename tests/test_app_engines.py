"""The generated app built two more ways, each checked tensor by tensor against the golden data:
`--engine host --pulp-nn ../shared/third_party/pulp-nn` (the real PULP-NN sources, Xpulp emulated
by runtime/xpulp_emul.h) and `--engine qemu-rv32` (cross-compiled with picolibc, run on
qemu-system-riscv32, cluster cores as coroutines). One test per network: lowered and printed once
(`host_engine.AppBuild`), then built and run by each engine; about 20-60 s per network."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from onnx_graphs import EXAMPLES, example_networks, require_examples
from rv32_tools import require_rv32

from dory_xdsl.engines import host_engine, qemu_engine
from dory_xdsl.drivers.cli import GoldenCheck
from dory_xdsl.lowering.pipeline import CompileOptions
from dory_xdsl.analysis.interpreter import main_function
from dory_xdsl.generators.mobilenet import MobileNetConfig, generate_mobilenet
from dory_xdsl.frontend.onnx_import import import_onnx_bytes

PULP_NN = Path(__file__).resolve().parents[1].parent / "shared" / "third_party" / "pulp-nn"

def require_pulp_nn() -> None:
    if not (PULP_NN / "64bit" / "src").is_dir():
        pytest.skip(f"PULP-NN checkout missing: {PULP_NN}")


def run_engines(model: Path, golden: Path, qemu: bool, capsys) -> None:
    data = model.read_bytes()
    module = import_onnx_bytes(data, str(model))
    shapes = [tuple(a.type.get_shape()) for a in main_function(module).body.block.args]  # type: ignore
    check = GoldenCheck(str(golden), shapes)
    check.number(module, data, str(model))
    options = CompileOptions()
    build = host_engine.AppBuild(module, options)

    def host(files, folder):
        return host_engine.build_and_run(files, folder, options.l1_bytes, pulp_nn=PULP_NN)

    results = [build.run(inputs, "host", host) for inputs in check.inputs]
    assert check.report("host --pulp-nn", [r.layers for r in results]) == 0
    assert "tensors bit-exact" in capsys.readouterr().out.splitlines()[-1]
    if not qemu:
        return

    def rv32(files, folder):
        return qemu_engine.build_and_run(files, folder, options.l1_bytes)

    results = [build.run(inputs, qemu_engine.NAME, rv32) for inputs in check.inputs]
    out = capsys.readouterr().out
    counts = re.search(r"qemu-rv32: retired instructions per layer: ([\d ]+) \(total (\d+)\)", out)
    assert counts is not None, out
    per_layer = [int(n) for n in counts.group(1).split()]
    assert per_layer and min(per_layer) > 0 and sum(per_layer) == int(counts.group(2))
    assert check.report(qemu_engine.NAME, [r.layers for r in results]) == 0


@pytest.mark.parametrize("model", example_networks() or [None], ids=lambda p: p.parent.name if p else "missing")
def test_shared_network_real_pulp_nn_and_qemu(model, capsys):
    require_examples()
    require_pulp_nn()
    require_rv32()
    run_engines(model, model.parent, True, capsys)


@pytest.mark.parametrize("width,resolution,qemu", [(0.25, 96, True), (1.0, 128, False)], ids=["0.25-96", "1.0-128"])
def test_mobilenet_real_pulp_nn_and_qemu(width, resolution, qemu, tmp_path, capsys):
    require_pulp_nn()
    if qemu:
        require_rv32()
    generate_mobilenet(MobileNetConfig(width=width, resolution=resolution, seed=0), tmp_path)
    run_engines(tmp_path / "model.onnx", tmp_path, qemu, capsys)


def test_cli_qemu_with_real_pulp_nn(capsys):
    require_examples()
    require_pulp_nn()
    require_rv32()
    from dory_xdsl.drivers import cli

    folder = EXAMPLES / "Nemo" / "Residual_connection_test_1"
    code = cli.main(["run", str(folder / "model_int.onnx"), "--golden", str(folder), "--engine", "qemu-rv32",
                     "--pulp-nn", str(PULP_NN), "--drop-float-tail"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and out[-1] == "golden: 8/8 tensors bit-exact"
    assert any(line.startswith("qemu-rv32: retired instructions per layer: ") for line in out)


@pytest.mark.parametrize("args,message", [
    (["--engine", "reference", "--pulp-nn", "x"], "--pulp-nn needs an engine that builds the app (host, qemu-rv32), "
                                                  "not 'reference'"),
    (["--engine", "host", "--pulp-nn", "/nonexistent"], "--pulp-nn /nonexistent: not a PULP-NN checkout with "
                                                        "64bit/include/pulp_nn_kernels.h and 64bit/src/*.c"),
])
def test_pulp_nn_option_errors(args, message, capsys):
    require_examples()
    from dory_xdsl.drivers import cli

    folder = EXAMPLES / "Nemo" / "Residual_connection_test_1"
    assert cli.main(["run", str(folder / "model_int.onnx"), "--golden", str(folder), "--drop-float-tail", *args]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"dory: error: {message}"  # after any warnings


@pytest.mark.parametrize("engine", ["host", "qemu-rv32"])
def test_engines_refuse_worker_stacks_below_the_measured_need(engine, tmp_path):
    require_examples()
    require_rv32()
    from dory_xdsl.errors import DoryError

    model = EXAMPLES / "Nemo" / "Residual_connection_test_1" / "model_int.onnx"
    build = host_engine.AppBuild(import_onnx_bytes(model.read_bytes(), str(model)), CompileOptions())
    files = build.files([np.zeros((1, 1, 200, 200), np.float32)])
    assert b"task.slave_stack_size = 2048;" in files["main.c"]
    files["main.c"] = files["main.c"].replace(b"task.slave_stack_size = 2048;", b"task.slave_stack_size = 512;")
    runner = host_engine.build_and_run if engine == "host" else qemu_engine.build_and_run
    with pytest.raises(DoryError, match=r"pi_cluster_send_task_to_cl: layer\d+_\w+ needs \d+ B of stack \(deepest call "
                                        r"chain, rv32 -fstack-usage\), each worker stack \(slave_stack_size\) is 512 B"):
        runner(files, tmp_path, 36700)
