"""GAP-8 C emission: the L2 plan, determinism, the API the C may call, golden checksums, budgets."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dory_xdsl.golden.dory_dir import golden_inputs, golden_layer_values
from dory_xdsl.golden.numbering import golden_positions
from dory_xdsl.lowering.pipeline import CompileOptions, compile_module
from dory_xdsl.errors import DoryError
from dory_xdsl.golden.dory_dir import read_golden_dir
from dory_xdsl.engines.host_build import RUNTIME_DIR
from dory_xdsl.lowering.c_printer import byte_checksum, dma_channels, layer_functions
from dory_xdsl.lowering.l2_plan import L2Buffer, plan_l2
from dory_xdsl.generators.mobilenet import MobileNetConfig, generate_mobilenet
from dory_xdsl.frontend.onnx_import import import_onnx_file

SMALL = MobileNetConfig(width=0.25, resolution=96, classes=100, seed=7)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mobilenet")
    generate_mobilenet(SMALL, folder)
    return folder


def compile_golden(folder: Path, **options):
    module = import_onnx_file(str(folder / "model.onnx"))
    return compile_module(module, name="net", inputs=golden_inputs(module, folder), golden_layers=golden_layer_values(folder),
                          golden_numbering=golden_positions(module, folder / "model.onnx"),
                          options=CompileOptions(**options))


@pytest.fixture(scope="module")
def app(network):
    return compile_golden(network)


# ----------------------------------------------------------------------------- L2 plan


def test_l2_plan_separates_live_buffers_and_reuses_dead_ones():
    bufs = [L2Buffer("a", 100, 0, 2), L2Buffer("b", 50, 1, 3), L2Buffer("c", 100, 2, 4), L2Buffer("d", 10, 0, 4)]
    plan = plan_l2(bufs, alignment=8)
    for x in bufs:
        for y in bufs:
            if x is not y and x.overlaps_in_time(y):
                ox, oy = plan.offsets[x.name], plan.offsets[y.name]
                assert ox + x.size <= oy or oy + y.size <= ox, (x, y)
    assert all(o % 8 == 0 for o in plan.offsets.values())
    assert plan.offsets["c"] == plan.offsets["a"]  # a is dead when c is born
    assert plan.total == plan.lower_bound == 176  # a + b + d at step 1: 104 + 56 + 16 (8-B aligned)
    assert plan_l2(list(reversed(bufs)), alignment=8).offsets == plan.offsets


def test_l2_plan_rejects_duplicate_names():
    with pytest.raises(ValueError):
        plan_l2([L2Buffer("a", 1, 0, 1), L2Buffer("a", 1, 0, 1)])


# ----------------------------------------------------------------------------- app files


def test_two_compiles_are_byte_identical(network, app):
    again = compile_golden(network)
    assert sorted(again.files) == sorted(app.files)
    for name in app.files:
        assert again.files[name] == app.files[name], name


def test_app_has_the_gap_sdk_files(app):
    files = app.files
    assert {"Makefile", "main.c", "network.c", "network.h", "weights.bin", "weights.c", "input.c"} <= set(files)
    make = files["Makefile"].decode()
    assert "pmsis_rules.mk" in make and "-DNUM_CORES=8" in make and "-std=gnu11" in make
    main = files["main.c"].decode()
    for call in ("pi_freq_set", "pi_cluster_open", "pi_cluster_send_task_to_cl", "network_report"):
        assert call + "(" in main
    # one C function per layer, each called through a team fork
    network = files["network.c"].decode()
    layers = layer_functions(app.module)
    assert len(layers) == 29
    for f in layers:
        assert f"static void {f.sym_name.data}(void *arg)" in network
        assert f"pi_cl_team_fork(NUM_CORES, {f.sym_name.data}, &args);" in network


def test_tiled_layers_are_loops_not_unrolled_tiles(app):
    """Each layer function holds one call site of its kernel; a layer of many tiles is a C loop
    over them (`for (int t = 0; t < N; t++)` with N its tile count), so the code does not grow
    with the number of tiles."""
    network = app.files["network.c"].decode()
    bodies = re.split(r"\n/\* layer \d+: ", network)[1:]
    assert len(bodies) == 29
    many = 0
    for f, body in zip(layer_functions(app.module), bodies):
        nh, nw, nc = f.attributes["dory.tiling"].counts
        kernel = f.attributes["dory.kernel"].data
        assert body.count(kernel + "(") == 1, f.sym_name.data
        if nh * nw * nc > 1:
            many += 1
            assert f"for (int t = 0; t < {nh * nw * nc}; t++) {{" in body
        else:
            assert "for (int t " not in body
    assert many >= 5


def _strip_host_blocks(text: str) -> str:
    """Drop `#ifdef DORY_HOST_RUNTIME` / `#if defined(DORY_HOST_RUNTIME) ...` branches."""
    out, skip = [], 0
    for line in text.splitlines():
        s = line.strip()
        if skip:
            if s.startswith("#if"):
                skip += 1
            elif s.startswith("#endif"):
                skip -= 1
            elif s.startswith("#else") and skip == 1:
                skip = 0
            continue
        if s.startswith(("#ifdef DORY_HOST_RUNTIME", "#if defined(DORY_HOST_RUNTIME")):
            skip = 1
            continue
        out.append(line)
    return "\n".join(out)


def _prototypes() -> set[str]:
    names = set()
    headers = [RUNTIME_DIR / "pmsis_api.h", RUNTIME_DIR / "pulp_nn_kernels.h", *RUNTIME_DIR.rglob("bsp/**/*.h")]
    for header in headers:  # the PMSIS subset, the BSP RAM / flash / FS headers, PULP-NN
        names |= set(re.findall(r"\b(\w+)\s*\(", header.read_text()))
    return names


def test_c_calls_only_the_documented_api(app):
    allowed = _prototypes()
    keywords = {"if", "for", "while", "return", "sizeof", "defined", "main", "void", "__attribute__"}
    texts = {}
    for name in ("main.c", "network.c"):
        text = re.sub(r"/\*.*?\*/", "", _strip_host_blocks(app.files[name].decode()), flags=re.S)
        texts[name] = re.sub(r'"[^"]*"', '""', text)
    own: set[str] = set()
    for text in texts.values():  # functions the app defines itself
        own |= set(re.findall(r"^(?:static (?:inline )?)?(?:unsigned )?\w+ \**(\w+)\(", text, re.M))
    for name, text in texts.items():
        called = set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", text)) - keywords - own
        called -= {"uint8_t", "int8_t", "int32_t", "uint32_t", "uintptr_t", "int64_t"}  # casts
        assert called <= allowed, f"{name}: {sorted(called - allowed)}"
    assert "#include <" not in app.files["network.c"].decode() + app.files["main.c"].decode()


def test_golden_checksums_are_byte_sums_of_the_golden_files(network, app):
    golden = read_golden_dir(network)
    text = app.files["network.c"].decode()
    found = dict(re.findall(r"dory_check_layer\((\d+), \w+, \d+, 1, (\d+)u\)", text))
    assert len(found) == len(golden.layers) == 29
    for index, tensor in golden.layers.items():
        dtype = np.int32 if index == 28 else np.uint8  # the classifier is linear_out_32
        assert int(found[str(index)]) == byte_checksum(tensor.values.astype(dtype).tobytes())


def test_weights_c_links_in_the_bytes_of_weights_bin(app, tmp_path):
    """weights.c holds no copy of the image: the assembler includes weights.bin, and the object's
    network_weights section is exactly its bytes."""
    import shutil
    import subprocess

    if not (shutil.which("gcc") and shutil.which("objcopy")):
        pytest.skip("needs gcc and objcopy")
    image = app.files["weights.bin"]
    assert len(image) > 200_000 and len(app.files["weights.c"]) < 1000
    (tmp_path / "app").mkdir()
    for name in ("weights.c", "weights.bin"):
        (tmp_path / "app" / name).write_bytes(app.files[name])
    obj, section = tmp_path / "weights.o", tmp_path / "section.bin"
    subprocess.run(["gcc", "-c", f"-I{RUNTIME_DIR}", f"-Wa,-I{tmp_path / 'app'}", "-DDORY_HOST_RUNTIME",
                    str(tmp_path / "app" / "weights.c"), "-o", str(obj)], check=True, cwd=tmp_path)
    subprocess.run(["objcopy", "-O", "binary", "--only-section=.data.network_weights", str(obj), str(section)],
                   check=True)
    assert section.read_bytes() == image


def test_dma_rings_share_at_most_16_static_command_structs(app):
    """Every channel that issues commands gets a ring of structs from the static array, the rings
    of one layer do not overlap and fit the MCHAN's 16 counters; no command array on the stack."""
    text = app.files["network.c"].decode()
    assert "pi_cl_dma_cmd_t dma_" not in text
    size = int(re.search(r"#define DORY_DMA_COUNTERS (\d+)", text).group(1))
    assert 1 <= size <= 16
    for f in layer_functions(app.module):
        channels = dma_channels(f)
        assert channels and sum(channels.values()) <= size
        base = 0
        for channel, ring in channels.items():
            assert ring >= 1
            assert f"struct dory_dma_queue dma_{channel} = {{dory_dma_cmds + {base}, {ring}, 0, 0}};" in text
            base += ring


def test_l2_budget_is_enforced(network):
    with pytest.raises(DoryError, match="L2 memory: .* B are live at 'layer"):
        compile_golden(network, l2_code_reserved=500_000)
