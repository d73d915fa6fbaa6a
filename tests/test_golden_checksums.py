"""`dory compile --golden`: every embedded layer checksum is the checksum of the golden tensor
that layer computes (checked against the reference engine's output of that very layer, so a
checksum filed under another layer's number fails), for every shared DORY network."""

from __future__ import annotations

import re

import numpy as np
import pytest
from golden_apps import golden_app
from onnx_graphs import example_networks, require_examples

from dory_xdsl.golden.dory_dir import read_golden_dir
from dory_xdsl.lowering.pipeline import layer_out_types
from dory_xdsl.lowering.c_printer import byte_checksum
from dory_xdsl.tensors import numpy_dtype
from dory_xdsl.transforms.qnn_legalize_pulp import lowered_layer_of

CHECK = re.compile(r"dory_check_layer\((\d+), \w+, \d+, 1, (\d+)u\)")


@pytest.mark.parametrize("model", example_networks() or [None], ids=lambda p: p.parent.name if p else "missing")
def test_embedded_checksums_match_the_golden_tensors(model):
    require_examples()
    built = golden_app(model)
    app = built.app
    embedded = {int(i): int(s) for i, s in CHECK.findall(app.files["network.c"].decode())}
    golden = read_golden_dir(model.parent)
    out_types = layer_out_types(app.module)
    position_of = {index: position for position, index in lowered_layer_of(app.module, len(out_types)).items()}
    assert len(embedded) == len(golden.layers)
    checked = []
    for index, checksum in sorted(embedded.items()):
        computed = built.reference_layers[position_of[index]]
        dtype = numpy_dtype(out_types[index].element_type).newbyteorder("<")
        assert byte_checksum(computed.astype(dtype).tobytes()) == checksum, \
            f"{model.parent.name}: layer {index}: the embedded checksum is not that of the layer's output"
        checked.append(_values(computed))
    # the checked layers compute exactly the golden tensors (in any order / layout)
    assert sorted(checked) == sorted(_values(t.values) for t in golden.layers.values())


def _values(array: np.ndarray) -> bytes:
    return np.sort(np.asarray(array).astype(np.int64).ravel()).tobytes()
