"""Weights from flash: by default the app reads weights.bin through the HyperFlash read-only file
system into HyperRAM and links no weights array; the host runtime emulates the flash file
system (runtime/fs_host.c), so a host run executes that loading code. `WEIGHTS_L2=1`
(`-DDORY_WEIGHTS_L2`, weights.c linked) still runs bit-exact."""

from __future__ import annotations

import subprocess

import pytest
from golden_apps import golden_app
from onnx_graphs import example_networks, require_examples

from dory_xdsl.drivers import cli
from dory_xdsl.engines import host_build
from dory_xdsl.engines.host_engine import build_and_run
from dory_xdsl.errors import DoryError
from dory_xdsl.lowering.pipeline import CompileOptions
from dory_xdsl.lowering.app import write_app

L1 = CompileOptions().l1_bytes


def _model(name: str):
    require_examples()
    return next(p for p in example_networks() if p.parent.name == name)


def test_host_run_through_the_flash_file_system_is_bit_exact(capsys):
    model = _model("Residual_connection_test_1")
    code = cli.main(["run", "--drop-float-tail", str(model), "--golden", str(model.parent), "--engine", "host"])
    out = capsys.readouterr().out.splitlines()
    total = len(list(model.parent.glob("out_layer*.txt")))
    assert out[-1] == f"golden: {total}/{total} tensors bit-exact" and code == 0


def test_default_build_reads_weights_bin_and_links_no_weights_array(tmp_path):
    app = golden_app(_model("dronet_2.0")).app
    folder = write_app(app.files, tmp_path / "app")
    makefile = app.files["Makefile"].decode()
    assert "READFS_FILES := weights.bin" in makefile
    assert "APP_SRCS = main.c network.c input.c $(wildcard" in makefile  # weights.c only with WEIGHTS_L2
    for source in ("main.c", "network.c", "input.c"):
        cmd = [host_build.HOST_CC, "-std=gnu11", "-E", f"-I{host_build.RUNTIME_DIR}", f"-I{folder}", source]
        text = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=True).stdout
        assert "network_weights" not in text, source
    network = subprocess.run([host_build.HOST_CC, "-std=gnu11", "-E", f"-I{host_build.RUNTIME_DIR}", "network.c"],
                             cwd=folder, capture_output=True, text=True, check=True).stdout
    assert 'pi_fs_open(&fs, "weights.bin", 0)' in network and "pi_fs_read(file, l2, n)" in network
    # the same host run loads the image from the flash: every byte of it written to L3 once
    run = build_and_run(app.files, tmp_path / "run", L1)
    assert "checksum errors: 0" in run.stdout
    assert run.l3_write >= len(app.files["weights.bin"]) > 0


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_host_app_fails_without_a_complete_weights_bin(tmp_path, damage):
    app = golden_app(_model("Residual_connection_test_1")).app
    files = dict(app.files)
    if damage == "missing":
        del files["weights.bin"]
    else:
        files["weights.bin"] = files["weights.bin"][:-8]
    with pytest.raises(DoryError, match="the host app failed"):
        build_and_run(files, tmp_path, L1)
    expected = "weights.bin is not on the flash" if damage == "missing" else "weights.bin holds"
    binary = tmp_path / "app"
    proc = subprocess.run([str(binary)], cwd=tmp_path, capture_output=True, text=True, env=host_build.run_env())
    assert proc.returncode != 0 and expected in proc.stdout


def test_weights_l2_build_still_runs_bit_exact(tmp_path):
    app = golden_app(_model("Residual_connection_test_1")).app
    flash = build_and_run(app.files, tmp_path / "flash", L1)
    in_l2 = build_and_run(app.files, tmp_path / "l2", L1, weights_l2=True)
    assert "checksum errors: 0" in in_l2.stdout and "checksum errors: 0" in flash.stdout
    assert in_l2.layers == flash.layers and in_l2.outputs == flash.outputs
    assert (in_l2.l3_read, in_l2.l3_write) == (0, 0)  # no HyperRAM in this mode
