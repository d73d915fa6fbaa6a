"""The generated app compiles for 32-bit RISC-V (GAP-8) against the prototype headers alone."""

from __future__ import annotations

import os

import pytest

from dory_xdsl.engines import host_build
from dory_xdsl.lowering.pipeline import compile_module
from dory_xdsl.golden.dory_dir import golden_inputs, golden_layer_values
from dory_xdsl.golden.numbering import golden_positions
from dory_xdsl.lowering.app import write_app
from dory_xdsl.generators.mobilenet import MobileNetConfig, generate_mobilenet
from dory_xdsl.frontend.onnx_import import import_onnx_file

SOURCES = ("main.c", "network.c", "input.c", "weights.c")


def require_riscv() -> None:
    if host_build.riscv_compiler() is None:
        message = f"{host_build.RISCV_CC} not installed (Debian package gcc-riscv64-unknown-elf)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.parametrize("variant", [{}, {"DORY_WEIGHTS_L2": None}], ids=["weights-L3", "weights-L2"])
def test_app_compiles_for_rv32(tmp_path, variant):
    require_riscv()
    generate_mobilenet(MobileNetConfig(width=0.25, resolution=96, classes=10, seed=1), tmp_path / "net")
    module = import_onnx_file(str(tmp_path / "net" / "model.onnx"))
    app = compile_module(module, inputs=golden_inputs(module, tmp_path / "net"), golden_layers=golden_layer_values(tmp_path / "net"),
                         golden_numbering=golden_positions(module, tmp_path / "net" / "model.onnx"))
    folder = write_app(app.files, tmp_path / "app")
    defines = {"NUM_CORES": "8", **variant}
    if b"-DPULP_NN_REQUANT_64" in app.files["Makefile"]:
        defines["PULP_NN_REQUANT_64"] = None
    objects = host_build.compile_riscv([folder / s for s in SOURCES], tmp_path / "obj",
                                       include_dirs=[folder], defines=defines)
    assert [o.name for o in objects] == [s.replace(".c", ".o") for s in SOURCES]
    assert all(o.stat().st_size > 0 for o in objects)
