"""ONNX import: the imported IR computes exactly what onnxruntime computes on the ONNX graph.

For the reference networks (NEMO, Quantlab) the check runs on the golden input and on random
and saturating inputs, comparing every result of `@main` with the same ONNX tensor in
onnxruntime (Quantlab's original graph has attributes onnxruntime rejects: its `.ortcompat`
copy is the oracle there). The small generated graphs cover the requantization variants; the
integer arithmetic behind non-power-of-two division is checked exhaustively.
"""

from __future__ import annotations


import numpy as np
import onnx
import pytest
from onnx_graphs import as_integers, example_networks, make_graph, onnxruntime_values, require_examples

from dory_xdsl.golden.dory_dir import read_golden_file
from dory_xdsl.analysis.interpreter import evaluate
from dory_xdsl.frontend.onnx_import import DROPPED_ATTR, import_onnx_bytes, import_onnx_file, import_onnx_with_results
from dory_xdsl.semantics.onnx_requant import RequantRangeError, requant_constants, scaled_floor_by_mul_shift
from dory_xdsl.analysis.range_overflow import NODE_ATTR

NETWORKS = example_networks()
NET_IDS = [p.parent.name for p in NETWORKS]


def _oracle(path):
    if "Quantlab" in str(path):
        return onnx.load(path.with_suffix("").with_suffix(".ortcompat.onnx"))
    return onnx.load(path)


def _check_against_onnxruntime(module, names, model, x):
    arg = module.body.block.first_op.body.block.args[0]
    outputs = evaluate(module, [x]).outputs
    expected = onnxruntime_values(model, names, {model.graph.input[0].name: x})
    assert len(outputs) == len(expected) == len(names)
    for name, ours, theirs in zip(names, outputs, expected):
        assert ours.size == theirs.size, name
        np.testing.assert_array_equal(ours.reshape(-1).astype(np.int64), as_integers(theirs).reshape(-1), err_msg=name)
    return arg


@pytest.mark.parametrize("path", NETWORKS, ids=NET_IDS)
def test_reference_network_matches_onnxruntime(path):
    require_examples()
    data = path.read_bytes()
    module, names = import_onnx_with_results(data, str(path))
    module.verify()
    args = module.body.block.first_op.body.block.args
    shape = tuple(args[0].type.get_shape())
    golden = read_golden_file(path.parent / "input.txt").values.reshape(shape)
    model = _oracle(path)
    inputs = [golden, np.full(shape, 255)]
    if "Quantlab" not in str(path):  # see test_quantlab_deviation_is_float32_rounding
        rng = np.random.default_rng(len(names))
        inputs += [rng.integers(0, 256, size=shape) for _ in range(2)]
    for x in inputs:
        _check_against_onnxruntime(module, names, model, x)


def test_quantlab_deviation_is_float32_rounding():
    """On some inputs onnxruntime differs from the IR on Quantlab/Dronet: its float32 graph rounds
    `k*acc + lambda` (above 2^24) before the floor. The IR keeps the exact integer arithmetic
    the network was integerized for (and the golden files agree, see the test above)."""
    require_examples()
    path = next(p for p in NETWORKS if "Quantlab" in str(p))
    module, _ = import_onnx_with_results(path.read_bytes(), str(path))
    model = onnx.load(path)
    x = np.random.default_rng(2).integers(0, 256, size=(1, 1, 200, 200))
    values = evaluate(module, [x]).values
    ops = list(module.body.block.first_op.body.block.ops)
    conv = next(op for op in ops if op.name == "qnn.conv2d")
    requant = next(op for op in ops if op.name == "qnn.requant")
    acc = values[conv.results[0]].astype(np.int64)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    mul, add = (next(n for n in model.graph.node if n.op_type == t) for t in ("Mul", "Add"))
    k, lam = (inits[n.input[1]] for n in (mul, add))
    exact = np.clip((acc * k.astype(np.int64) + lam.astype(np.int64)) >> 19, 0, 255)
    f32 = np.clip(np.floor((acc.astype(np.float32) * k + lam) / np.float32(2**19)), 0, 255)
    np.testing.assert_array_equal(values[requant.results[0]], exact)
    (first_layer,) = onnxruntime_values(_oracle(path), ["50"], {model.graph.input[0].name: x})
    np.testing.assert_array_equal(first_layer, f32)
    assert np.count_nonzero(f32 != exact) >= 1  # the input was chosen to show the difference


def test_reference_networks_present():
    require_examples()
    assert len(NETWORKS) == 10  # 9 NEMO networks + Quantlab/Dronet (see ../shared/models/README.md)


@pytest.mark.parametrize("path", NETWORKS[:3] + NETWORKS[-1:], ids=NET_IDS[:3] + NET_IDS[-1:])
def test_node_order_and_tensor_names_do_not_matter(path):
    require_examples()
    model = onnx.load(path)
    reference = str(import_onnx_bytes(model.SerializeToString(), "plain"))
    variant = make_graph.renamed(make_graph.shuffled(onnx.load(path), seed=7), seed=8)
    assert [n.output[0] for n in variant.graph.node] != [n.output[0] for n in model.graph.node]
    other = import_onnx_bytes(variant.SerializeToString(), "variant")
    plain = import_onnx_bytes(model.SerializeToString(), "plain")
    for module in (other, plain):  # the attributes naming ONNX nodes for diagnostics differ
        module.body.block.first_op.attributes.pop(DROPPED_ATTR, None)
        for op in module.walk():
            op.attributes.pop(NODE_ATTR, None)
    assert str(other) == str(plain)
    assert "qnn.conv2d" in reference


def test_dropped_float_tail_is_recorded():
    require_examples()
    path = next(p for p in NETWORKS if p.parent.name == "Residual_connection_test_1")
    main = import_onnx_file(path).body.block.first_op
    assert [a.data for a in main.attributes[DROPPED_ATTR].data] == ["Sigmoid node 'Sigmoid_82'"]


# ------------------------------------------------------------------ small generated graphs

# quantlab_add has attributes onnxruntime rejects (tested through its expansion below);
# residual_wide saturates where ONNX would pass 9-bit values on (tested for its marker below).
ORT_GRAPHS = [n for n in make_graph.GRAPHS if n not in ("quantlab_add", "residual_wide")]


@pytest.mark.parametrize("name", ORT_GRAPHS)
def test_small_graph_matches_onnxruntime(name):
    model = make_graph.GRAPHS[name]()
    module, names = import_onnx_with_results(model.SerializeToString(), name)
    shape = tuple(d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim)
    rng = np.random.default_rng(3)
    for x in [rng.integers(0, 256, size=shape) for _ in range(3)] + [np.full(shape, 255), np.zeros(shape, int)]:
        _check_against_onnxruntime(module, names, model, x)


def test_residual_add_wider_than_8_bits_saturates_and_says_so():
    module = import_onnx_bytes(make_graph.residual_wide().SerializeToString(), "residual_wide")
    (add,) = [op for op in module.body.block.first_op.body.block.ops if op.name == "qnn.add"]
    assert list(add.attributes["qnn.unclipped_range"].get_values()) == [0, 382]
    assert (add.param("lo"), add.param("hi")) == (0, 255)
    plain = import_onnx_bytes(make_graph.residual().SerializeToString(), "residual")
    (add,) = [op for op in plain.body.block.first_op.body.block.ops if op.name == "qnn.add"]
    assert "qnn.unclipped_range" not in add.attributes


def _quantlab_add_expanded(model: onnx.ModelProto) -> onnx.ModelProto:
    """The quantlab_add graph with its attribute Add spelled in standard ops (as the .ortcompat
    copy of Quantlab/Dronet does): floor((x*mul + add) / 2^shift) per input, Add, Clip."""
    g = model.graph
    (node,) = [n for n in g.node if n.op_type == "Add" and any(a.name == "in1_mul" for a in n.attribute)]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    nodes, inits, parts = [], [], []
    for i, (src, p) in enumerate(zip(node.input, ("in1", "in2"))):
        for suffix, value in (("m", attrs[f"{p}_mul"]), ("a", attrs[f"{p}_add"]), ("d", 2.0 ** attrs[f"{p}_shift"])):
            inits.append(onnx.numpy_helper.from_array(np.array(value, np.float32), f"q{i}{suffix}"))
        nodes += [onnx.helper.make_node("Mul", [src, f"q{i}m"], [f"q{i}_1"]),
                  onnx.helper.make_node("Add", [f"q{i}_1", f"q{i}a"], [f"q{i}_2"]),
                  onnx.helper.make_node("Div", [f"q{i}_2", f"q{i}d"], [f"q{i}_3"]),
                  onnx.helper.make_node("Floor", [f"q{i}_3"], [f"q{i}_4"])]
        parts.append(f"q{i}_4")
    nodes += [onnx.helper.make_node("Add", parts, ["qsum"]),
              onnx.helper.make_node("Clip", ["qsum"], [node.output[0]], min=0.0, max=255.0)]
    index = list(g.node).index(node)
    new_nodes = list(g.node)[:index] + nodes + list(g.node)[index + 1:]
    del g.node[:]
    g.node.extend(new_nodes)
    g.initializer.extend(inits)
    return model


def test_quantlab_add_attributes_match_expanded_graph():
    model = make_graph.quantlab_add()
    module, names = import_onnx_with_results(model.SerializeToString(), "quantlab_add")
    expanded = _quantlab_add_expanded(make_graph.quantlab_add())
    assert str(import_onnx_bytes(expanded.SerializeToString(), "expanded")) == str(module)
    rng = np.random.default_rng(5)
    for _ in range(3):
        _check_against_onnxruntime(module, names, expanded, rng.integers(0, 256, size=(1, 1, 8, 8)))


# ------------------------------------------------------------------ integer arithmetic


@pytest.mark.parametrize("d", [3, 4095, 2**21 - 1, 2**23 - 1, 1000, 64])
def test_scaled_floor_by_mul_shift_is_exact(d):
    rng = np.random.default_rng(d)
    g = [int(v) for v in rng.integers(1, 60, size=4)]
    ylo, yhi = [-50_000] * 4, [300 * d] * 4
    m, s = scaled_floor_by_mul_shift(g, ylo, yhi, d, 0, 255)
    y = np.concatenate([np.arange(-50, 5000), rng.integers(-50_000, 300 * d, size=20000),
                        np.array([gc * 0 + (k * d) // gc + off for gc in g for k in range(257) for off in (-1, 0, 1)])])
    y = y[(y >= -50_000) & (y <= 300 * d)].astype(object)
    for gc, mc in zip(g, m):
        want = np.clip(np.array([(gc * v) // d for v in y]), 0, 255)
        got = np.clip(np.array([(v * mc) >> s for v in y]), 0, 255)
        np.testing.assert_array_equal(got, want)


def test_scaled_floor_rejects_negative_values_in_range():
    with pytest.raises(RequantRangeError):
        scaled_floor_by_mul_shift([1], [-1000], [1000], 7, -128, 127)


def test_requant_constants_pick_width_and_reduce_shift():
    c = requant_constants([4, 8], [16, -32], 22, [0, 0], [1000, 1000])
    assert (c.k, c.lam, c.shift, c.bits) == ([1, 2], [4, -8], 20, 32)
    assert requant_constants([2047], [-(2**30)], 24, [0], [2**20]).bits == 64
    with pytest.raises(RequantRangeError):
        requant_constants([2**40], [0], 0, [0], [2**30])
