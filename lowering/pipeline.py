"""The lowering pipeline: an imported `qnn` module -> lowered IR -> the GAP-8 application files.

`lower_module` runs the `gap8-lower` pass (`dory_xdsl/transforms/gap8_lower.py` lists its steps)
in place; `compile_module` also prints the application (`dory_xdsl.lowering.app.gap8_app`) and
builds the report (`dory_xdsl.lowering.report`). With golden layer outputs the app checks a
byte-sum checksum of every golden layer; with inputs it embeds them. The L2 plan
(`dory_xdsl.lowering.l2_plan`) must fit the L2 left after the target's code reservation, else a
one-line `DoryError` names the step where it does not fit. Output is deterministic: compiling
twice gives byte-identical files.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import MemRefType, ModuleOp

from dory_xdsl.errors import DoryError
from dory_xdsl.lowering.report import NetworkReport, TiledLayer
from dory_xdsl.target import GAP8

if TYPE_CHECKING:
    from dory_xdsl.transforms.gap8_lower import Gap8LowerPass


@dataclass(frozen=True)
class CompileOptions:
    l1_bytes: int = GAP8.l1_bytes
    l2_code_reserved: int = GAP8.l2_code_reserved
    objective: str = "cost"
    double_buffer: bool = True
    timeout: float = 20.0
    cache: str = ""  # folder of proved tilings kept between compiles (`tiling.tiling_cache`); "": none
    pulp_nn: str | None = None  # engines that build the app: a PULP-NN checkout to link instead of ours


@dataclass
class CompiledApp:
    """A lowered module and its application files, with figures for reports."""

    module: ModuleOp
    files: dict[str, bytes]
    layer_tiles: dict[int, int] = field(default_factory=dict)  # layer index -> number of tiles
    l2_bytes: int = 0
    seconds: float = 0.0
    report: NetworkReport | None = None

    @property
    def multi_tile_layers(self) -> int:
        return sum(1 for n in self.layer_tiles.values() if n > 1)




def backend_pass(options: CompileOptions = CompileOptions()) -> Gap8LowerPass:
    """The `gap8-lower` pipeline configured with `options` (L2 budget = 512,000 B minus the code
    reservation)."""
    from dory_xdsl.transforms.gap8_lower import Gap8LowerPass

    l2_bytes = GAP8.with_budget(l2_code_reserved=options.l2_code_reserved).l2_activation_bytes
    return Gap8LowerPass(l1_bytes=options.l1_bytes, objective=options.objective,
                         double_buffer=options.double_buffer, timeout=options.timeout, l2_bytes=l2_bytes,
                         cache=options.cache)


def lower_module(module: ModuleOp, options: CompileOptions = CompileOptions(),
                 seconds: dict[str, float] | None = None,
                 tiled: list[TiledLayer] | None = None) -> ModuleOp:
    """Run the back end (the `gap8-lower` pipeline) on an imported qnn module, in place.

    The `qnn.*` attributes of `@main` (`qnn.output_offsets`, `qnn.softmax_tail`, ...) are kept
    on the lowered `@main`. `seconds` receives the wall time of each pass by name, `qnn-tile`
    split into its exhaustive search and its Z3 proofs (in proportion to the time its threads
    spent in each, `tiling_model.SECONDS`); `tiled` receives every layer as tiled by `qnn-tile`
    (and marked by `qnn-l3-tile`), for the report.
    """
    from dory_xdsl.lowering.c_printer import main_of
    from dory_xdsl.tiling import tiling_model

    # the importer's network-level facts (offsets, final softmax) for the C printer
    from dory_xdsl.transforms.gap8_lower import check_lowerable

    check_lowerable(module)
    network_attrs = {k: v for k, v in main_of(module).attributes.items() if k.startswith("qnn.")}
    ctx = Context()
    for step in backend_pass(options).steps():
        start, spent = time.perf_counter(), dict(tiling_model.SECONDS)
        step.apply(ctx, module)
        wall = time.perf_counter() - start
        if seconds is not None and step.name == "qnn-tile":
            search, proof = (tiling_model.SECONDS[k] - spent[k] for k in ("search", "proof"))
            share = proof / (search + proof) if search + proof > 0 else 0.0
            seconds["qnn-tile: search"] = seconds.get("qnn-tile: search", 0.0) + wall * (1 - share)
            seconds["qnn-tile: Z3 proofs"] = seconds.get("qnn-tile: Z3 proofs", 0.0) + wall * share
        elif seconds is not None:
            seconds[step.name] = seconds.get(step.name, 0.0) + wall
        if step.name == "qnn-l3-tile" and tiled is not None:
            tiled.extend(tiled_layers(module))
    main_of(module).attributes.update(network_attrs)
    return module


def tiled_layers(module: ModuleOp) -> list[TiledLayer]:
    """The layers of `@main` as `qnn-tile` left them, with what the report needs of each."""
    from xdsl.dialects import func

    from dory_xdsl.dialects.dory import TilingAttr
    from dory_xdsl.analysis.kernel_layers import LAYER_OPS, kernel_layer
    from dory_xdsl.tensors import numpy_dtype
    from dory_xdsl.transforms.convert_qnn_to_dory import l3_placement
    from dory_xdsl.transforms.qnn_tile import TILING

    def nbytes(value) -> int:
        return value.type.element_count() * numpy_dtype(value.type.element_type).itemsize

    layers = []
    for function in module.ops:
        if not isinstance(function, func.FuncOp) or function.sym_name.data != "main":
            continue
        ops = [o for o in function.body.walk() if isinstance(o, LAYER_OPS)]
        for index, op in enumerate(ops):
            tiling = op.attributes[TILING]
            assert isinstance(tiling, TilingAttr)
            layer = kernel_layer(op, index)
            inputs_l3, output_l3 = l3_placement(op)
            layers.append(TiledLayer(
                index=index, geometry=layer.geometry, tile=tiling.sizes, counts=tiling.counts,
                l1_bytes=tiling.l1.data, l1_budget=tiling.budget.data, cycles=tiling.cycles.data,
                proved=bool(tiling.proved.data), solve_seconds=tiling.solve_us.data / 1e6,
                objective=tiling.objective.data,
                io_bytes=sum(nbytes(v) for v in layer.inputs) + nbytes(op.results[0]),
                param_bytes=tuple(int(a.nbytes) for a in layer.params.values()),
                l3_chunk=_l3_chunk(op), inputs_l3=inputs_l3, output_l3=output_l3,
                double_buffer=bool(tiling.double_buffer.data),
            ))
    return layers


def _l3_chunk(op) -> int:
    """Output channels per chunk of a layer that streams its parameters (`qnn-l3-tile`), else 0."""
    from xdsl.dialects.builtin import DictionaryAttr

    attr = op.attributes.get("dory.l3")
    chunk = attr.data.get("chunk") if isinstance(attr, DictionaryAttr) else None
    return chunk.value.data if chunk is not None else 0  # type: ignore[union-attr]


def layer_out_types(module: ModuleOp) -> dict[int, MemRefType]:
    """DORY layer index -> the memref type of its output (the last argument of its function)."""
    from dory_xdsl.lowering.c_printer import layer_functions

    return {f.attributes["dory.layer"].value.data: f.body.block.args[-1].type  # type: ignore[union-attr]
            for f in layer_functions(module)}


def golden_checksums(module: ModuleOp, golden_layers: Mapping[int, np.ndarray],
                     positions: Sequence[int | None], signed: Sequence[bool] = ()) -> dict[int, int]:
    """Byte-sum checksums of the golden layer outputs (DORY layer number -> values), in each
    layer's output element type, keyed by lowered layer index: golden file N is DORY layer N,
    program-order layer `positions[N]` (`golden.numbering.golden_positions`), which
    `qnn-legalize-pulp` may have renumbered (`lowered_layer_of`). `signed[P]`: program-order
    layer P is a signed 8-bit activation, held as value + 128."""
    from dory_xdsl.lowering.c_printer import byte_checksum
    from dory_xdsl.transforms.qnn_legalize_pulp import lowered_layer_of
    from dory_xdsl.tensors import numpy_dtype

    out_types = layer_out_types(module)
    lowered = lowered_layer_of(module, len(out_types))
    sums = {}
    for number, tensor in sorted(golden_layers.items()):
        position = positions[number] if 0 <= number < len(positions) else None
        if position is None or position not in lowered:
            raise DoryError(f"out_layer{number}.txt has no layer of the model (DORY numbering)")
        index = lowered[position]
        out_type = out_types[index]
        dtype = numpy_dtype(out_type.element_type).newbyteorder("<")
        values = np.asarray(tensor) + 128 if position < len(signed) and signed[position] else np.asarray(tensor)
        sums[index] = byte_checksum(values.astype(dtype).tobytes())
    return sums


def main_input_types(module: ModuleOp) -> list[MemRefType]:
    from dory_xdsl.lowering.c_printer import count_inputs, main_of

    main = main_of(module)
    return [a.type for a in list(main.body.block.args)[:count_inputs(main)]]  # type: ignore[misc]


def compile_module(module: ModuleOp, *, name: str = "network", source: str = "",
                   inputs: Sequence[np.ndarray] | None = None,
                   golden_layers: Mapping[int, np.ndarray] | None = None,
                   golden_numbering: Sequence[int | None] | None = None,
                   options: CompileOptions = CompileOptions()) -> CompiledApp:
    """Lower an imported qnn module and print its application (inputs NCHW as ONNX takes them).
    With `golden_layers` (DORY layer number -> golden values), `golden_numbering`
    (`golden.numbering.golden_positions` of the module before lowering) ties each golden file to
    its layer."""
    from dory_xdsl.lowering.app import gap8_app, input_bytes
    from dory_xdsl.lowering.c_printer import NetworkPrinter
    from dory_xdsl.lowering.report import build_report
    from dory_xdsl.tensors import numpy_dtype

    from dory_xdsl.analysis.signed_io import SignedBoundary

    if golden_layers is not None and golden_numbering is None:
        raise DoryError("golden checksums need the DORY layer numbering (golden.numbering.golden_positions)")
    start = time.perf_counter()
    seconds: dict[str, float] = {}
    tiled: list[TiledLayer] = []
    boundary = SignedBoundary.of(module)
    lower_module(module, options, seconds, tiled)
    data = None
    if inputs is not None:
        types = main_input_types(module)
        if len(types) != len(inputs):
            raise DoryError(f"{len(inputs)} input(s) given, the network takes {len(types)}")
        for i, (array, t) in enumerate(zip(inputs, types)):
            if tuple(array.shape) != tuple(t.get_shape()):
                raise DoryError(f"input {i}: shape {list(array.shape)}, the network takes {list(t.get_shape())}")
        data = input_bytes(boundary.stored_inputs(inputs), [numpy_dtype(t.element_type) for t in types])
    sums = None
    if golden_layers is not None:
        assert golden_numbering is not None
        sums = golden_checksums(module, golden_layers, golden_numbering, boundary.layers)
    printing = time.perf_counter()
    network = NetworkPrinter(module, dict(sums or {})).print()
    files = gap8_app(module, name=name, source=source, inputs=data, golden_checksums=sums, network=network)
    seconds["C printing"] = time.perf_counter() - printing
    reporting = time.perf_counter()
    target = GAP8.with_budget(l2_code_reserved=options.l2_code_reserved)
    report = build_report(name, module, tiled, target, len(files["weights.bin"]), seconds, network.plan)
    report.stage_seconds["report"] = time.perf_counter() - reporting
    tiles = {x.index: x.tiles for x in report.layers}
    return CompiledApp(module, files, tiles, report.l2_peak, time.perf_counter() - start, report)
