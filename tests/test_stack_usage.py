"""dory_xdsl.stack_usage: frames from -fstack-usage, deepest call chains from -fcallgraph-info=su,
the cluster entries of an app and the C table the runtime checks; and the measurement of a real
app on the rv32 build."""

from __future__ import annotations

import pytest
from onnx_graphs import EXAMPLES, require_examples
from rv32_tools import require_rv32

from dory_xdsl.errors import DoryError
from dory_xdsl.engines.stack_usage import (cluster_entries, cluster_stacks, deepest_chain, frame_sizes, read_call_graph,
                                   stack_table_source)

SU = """network.c:219:13:layer0_conv\t256\tstatic
network.c:644:6:network_run_cluster\t112\tstatic
/x/pulp_nn_host.c:240:6:pulp_nn_conv_Ho_parallel\t336\tstatic
/x/pulp_nn_host.c:61:13:check_regions.part.0\t240\tstatic
"""

CI_APP = '''graph: { title: "network.c"
node: { title: "network.c:layer0_conv" label: "layer0_conv\\nnetwork.c:219:13\\n256 bytes (static)" }
node: { title: "pi_core_id" label: "pi_core_id\\npmsis_api.h:53:5" shape : ellipse }
edge: { sourcename: "network.c:layer0_conv" targetname: "pi_core_id" label: "network.c:314:22" }
node: { title: "pulp_nn_conv_Ho_parallel" label: "pulp_nn_conv_Ho_parallel\\nk.h:20:6" shape : ellipse }
edge: { sourcename: "network.c:layer0_conv" targetname: "pulp_nn_conv_Ho_parallel" label: "network.c:375:9" }
node: { title: "network.c:layer1_add" label: "layer1_add\\nnetwork.c:300:13\\n96 bytes (static)" }
edge: { sourcename: "network.c:layer1_add" targetname: "pi_core_id" label: "network.c:314:22" }
node: { title: "network_run_cluster" label: "network_run_cluster\\nnetwork.c:644:6\\n112 bytes (static)" }
edge: { sourcename: "network_run_cluster" targetname: "pi_cl_team_fork" label: "network.c:679:9" }
}
'''

CI_KERNELS = '''graph: { title: "pulp_nn_host.c"
node: { title: "pulp_nn_conv_Ho_parallel" label: "pulp_nn_conv_Ho_parallel\\nk.c:240:6\\n336 bytes (static)" }
node: { title: "pulp_nn_host.c:check_regions.part.0" label: "check_regions.part.0\\nk.c:61:13\\n240 bytes (static)" }
node: { title: "pulp_nn_host.c:small" label: "small\\nk.c:70:13\\n16 bytes (static)" }
edge: { sourcename: "pulp_nn_conv_Ho_parallel" targetname: "pulp_nn_host.c:small" label: "k.c:1:1" }
edge: { sourcename: "pulp_nn_conv_Ho_parallel" targetname: "pulp_nn_host.c:check_regions.part.0" label: "k.c:2:2" }
edge: { sourcename: "pulp_nn_host.c:check_regions.part.0" targetname: "snprintf" label: "k.c:3:3" }
}
'''

FILES = {"main.c": b"pi_cluster_task(&task, network_run_cluster, &args);",
         "network.c": b"pi_cl_team_fork(NUM_CORES, layer0_conv, &args);\npi_cl_team_fork(NUM_CORES, layer1_add, &a);\n"
                      b"pi_cl_team_fork(NUM_CORES, layer0_conv, &args);"}


@pytest.fixture
def objects(tmp_path):
    (tmp_path / "network.su").write_text(SU)
    (tmp_path / "network.ci").write_text(CI_APP)
    (tmp_path / "pulp_nn_host.ci").write_text(CI_KERNELS)
    return tmp_path


def test_frame_sizes_from_su(objects):
    frames = frame_sizes([objects / "network.su"])
    assert frames == {"layer0_conv": 256, "network_run_cluster": 112, "pulp_nn_conv_Ho_parallel": 336,
                      "check_regions.part.0": 240}


def test_deepest_chain_sums_frames_across_files(objects):
    graph = read_call_graph(sorted(objects.glob("*.ci")))
    assert deepest_chain(graph, "layer0_conv") == (256 + 336 + 240, ("layer0_conv", "pulp_nn_conv_Ho_parallel",
                                                                     "check_regions.part.0"))
    assert deepest_chain(graph, "layer1_add")[0] == 96


def test_cluster_stacks_and_table(objects):
    stacks = cluster_stacks(FILES, [objects])
    assert cluster_entries(FILES) == ("network_run_cluster", ["layer0_conv", "layer1_add"])
    assert (stacks.task_bytes, stacks.worker_need(), stacks.master_need()) == (112, 832, 944)
    assert stacks.frames["layer0_conv"] == 256
    table = stack_table_source(stacks)
    assert '{"network_run_cluster", 112u, 0},\n    {"layer0_conv", 832u, 1},\n    {"layer1_add", 96u, 1},' in table
    assert table.rstrip().endswith("{0, 0u, 0},\n};")


def test_recursion_and_unbounded_frames_are_errors(tmp_path):
    (tmp_path / "r.ci").write_text(CI_APP.replace('targetname: "pi_core_id"', 'targetname: "network.c:layer1_add"', 1)
                                   .replace('"network.c:layer1_add" targetname: "pi_core_id"',
                                            '"network.c:layer1_add" targetname: "network.c:layer0_conv"'))
    with pytest.raises(DoryError, match=r"recursion \(layer0_conv -> layer1_add -> layer0_conv\)"):
        deepest_chain(read_call_graph([tmp_path / "r.ci"]), "layer0_conv")
    (tmp_path / "d.su").write_text("a.c:1:1:f\t48\tdynamic\n")
    with pytest.raises(DoryError, match="f has an unbounded dynamic frame"):
        frame_sizes([tmp_path / "d.su"])
    (tmp_path / "b.su").write_text("a.c:1:1:g\t48\tdynamic,bounded\n")
    assert frame_sizes([tmp_path / "b.su"]) == {"g": 48}


def test_measures_a_generated_app_on_rv32(tmp_path):
    require_examples()
    require_rv32(need_qemu=False)
    from dory_xdsl.lowering.pipeline import CompileOptions, compile_module
    from dory_xdsl.engines.host_engine import app_defines
    from dory_xdsl.lowering.app import write_app
    from dory_xdsl.frontend.onnx_import import import_onnx_bytes
    from dory_xdsl.engines.rv32_build import measure_cluster_stacks

    model = EXAMPLES / "Nemo" / "Residual_connection_test_1" / "model_int.onnx"
    app = compile_module(import_onnx_bytes(model.read_bytes(), str(model)), options=CompileOptions())
    write_app(app.files, tmp_path)
    stacks = measure_cluster_stacks(app.files, tmp_path, app_defines(app.files, 36700))
    assert stacks.task_entry == "network_run_cluster" and len(stacks.team) == 8
    for entry, (need, chain) in stacks.team.items():
        assert chain[0] == entry and need > stacks.frames[entry] > 0
        assert chain[1].startswith("pulp_nn_"), chain  # the kernels are measured too
