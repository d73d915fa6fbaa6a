"""`dory compile MODEL.onnx -o APP`: from an ONNX model to a GAP-8 application directory.

Pipeline (`lower_module`): the `gap8-lower` pass (`dory_xdsl/transforms/gap8_lower.py` lists its
steps), then
`dory_xdsl.lowering.app.gap8_app` prints the files. With `--golden DIR` the app embeds the
golden input and checks a byte-sum checksum of every golden layer output; with `--input X.npy`
it runs on that input. The L2 plan (`dory_xdsl.lowering.l2_plan`: the offline planner of
`dory_xdsl.l2_planner` over @main's buffers) must fit the L2 left after the target's code
reservation, else a one-line `DoryError` names the step where it does not fit. Output is
deterministic: compiling twice gives byte-identical files.

`--report FILE.json` writes `dory_xdsl.report`'s per-layer and total figures (memory per level,
DMA per direction, tiles, modelled cycles, L2 peak vs the liveness lower bound, compile time
per stage); `--report -` prints them as a table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import MemRefType, ModuleOp

from dory_xdsl.errors import DoryError
from dory_xdsl.report import NetworkReport, TiledLayer
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


STAGES = {"qnn-tile": "tiling", "convert-qnn-to-dory": "lowering"}  # other back-end passes: "passes"


def backend_pass(options: CompileOptions = CompileOptions()) -> Gap8LowerPass:
    """The `gap8-lower` pipeline configured with `options` (L2 budget = 512,000 B minus the code
    reservation)."""
    from dory_xdsl.transforms.gap8_lower import Gap8LowerPass

    l2_bytes = GAP8.with_budget(l2_code_reserved=options.l2_code_reserved).l2_activation_bytes
    return Gap8LowerPass(l1_bytes=options.l1_bytes, objective=options.objective,
                         double_buffer=options.double_buffer, timeout=options.timeout, l2_bytes=l2_bytes)


def add_budget_arguments(p) -> None:
    """The memory budget and tiling options shared by `dory compile` and `dory run`."""
    p.add_argument("--l1-bytes", type=int, default=GAP8.l1_bytes, help="L1 budget per layer (default %(default)s)")
    p.add_argument("--l2-code-reserved", type=int, default=GAP8.l2_code_reserved,
                   help="L2 bytes kept for code (default %(default)s)")
    p.add_argument("--objective", choices=("cost", "dory"), default="cost", help="tiling objective")


def options_from_args(args) -> CompileOptions:
    return CompileOptions(l1_bytes=args.l1_bytes, l2_code_reserved=args.l2_code_reserved,
                          objective=args.objective)


def lower_module(module: ModuleOp, options: CompileOptions = CompileOptions(),
                 seconds: dict[str, float] | None = None,
                 tiled: list[TiledLayer] | None = None) -> ModuleOp:
    """Run the back end (the `gap8-lower` pipeline) on an imported qnn module, in place.

    The `qnn.*` attributes of `@main` (`qnn.output_offsets`, `qnn.softmax_tail`, ...) are kept
    on the lowered `@main`. `seconds` receives the wall time per stage (`STAGES`); `tiled`
    receives every layer as tiled by `qnn-tile` (and marked by `qnn-l3-tile`), for the report.
    """
    from dory_xdsl.lowering.c_printer import main_of

    # the importer's network-level facts (offsets, final softmax) for the C printer
    network_attrs = {k: v for k, v in main_of(module).attributes.items() if k.startswith("qnn.")}
    ctx = Context()
    for step in backend_pass(options).steps():
        start = time.perf_counter()
        step.apply(ctx, module)
        stage = {"qnn-tile": "tiling", "qnn-l3-tile": "tiling", "convert-qnn-to-dory": "lowering"}.get(step.name, "passes")
        if seconds is not None:
            seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start
        if step.name == "qnn-l3-tile" and tiled is not None:
            tiled.extend(tiled_layers(module))
    main_of(module).attributes.update(network_attrs)
    return module


def tiled_layers(module: ModuleOp) -> list[TiledLayer]:
    """The layers of `@main` as `qnn-tile` left them, with what the report needs of each."""
    from xdsl.dialects import func

    from dory_xdsl.dialects.dory import TilingAttr
    from dory_xdsl.kernel_layers import LAYER_OPS, kernel_layer
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


def golden_positions(module: ModuleOp, model: str | Path) -> list[int | None]:
    """DORY layer number -> program-order layer of the imported (not yet lowered) `module`, from
    the ONNX file `model` (`golden_numbering.dory_positions`, the numbering `dory run --golden`
    uses)."""
    from dory_xdsl.golden_numbering import dory_positions
    from dory_xdsl.onnx_graph import index_graph, parse_model

    return dory_positions(module, index_graph(parse_model(Path(model).read_bytes(), str(model))))


def golden_checksums(module: ModuleOp, golden_dir: str | Path, positions: Sequence[int | None],
                     signed: Sequence[bool] = ()) -> dict[int, int]:
    """Byte-sum checksums of the golden layer outputs, in each layer's output element type, keyed
    by lowered layer index: golden file N is DORY layer N, program-order layer `positions[N]`
    (`golden_positions`), which `qnn-legalize-pulp` may have renumbered (`lowered_layer_of`).
    `signed[P]`: program-order layer P is a signed 8-bit activation, held as value + 128."""
    from dory_xdsl.golden import read_golden_dir
    from dory_xdsl.lowering.c_printer import byte_checksum
    from dory_xdsl.transforms.qnn_legalize_pulp import lowered_layer_of
    from dory_xdsl.tensors import numpy_dtype

    golden = read_golden_dir(golden_dir)
    out_types = layer_out_types(module)
    lowered = lowered_layer_of(module, len(out_types))
    sums = {}
    for number, tensor in sorted(golden.layers.items()):
        position = positions[number] if 0 <= number < len(positions) else None
        if position is None or position not in lowered:
            raise DoryError(f"{golden_dir}: out_layer{number}.txt has no layer of the model (DORY numbering)")
        index = lowered[position]
        out_type = out_types[index]
        dtype = numpy_dtype(out_type.element_type).newbyteorder("<")
        values = tensor.values + 128 if position < len(signed) and signed[position] else tensor.values
        sums[index] = byte_checksum(values.astype(dtype).tobytes())
    return sums


def main_input_types(module: ModuleOp) -> list[MemRefType]:
    from dory_xdsl.lowering.c_printer import count_inputs, main_of

    main = main_of(module)
    return [a.type for a in list(main.body.block.args)[:count_inputs(main)]]  # type: ignore[misc]


def compile_module(module: ModuleOp, *, name: str = "network", source: str = "",
                   inputs: Sequence[np.ndarray] | None = None, golden_dir: str | Path | None = None,
                   golden_numbering: Sequence[int | None] | None = None,
                   options: CompileOptions = CompileOptions()) -> CompiledApp:
    """Lower an imported qnn module and print its application (inputs NCHW as ONNX takes them).
    With `golden_dir`, `golden_numbering` (`golden_positions` of the module before lowering) ties
    each golden file to its layer."""
    from dory_xdsl.lowering.app import gap8_app, input_bytes
    from dory_xdsl.report import build_report
    from dory_xdsl.tensors import numpy_dtype

    from dory_xdsl.signed_io import SignedBoundary

    if golden_dir is not None and golden_numbering is None:
        raise DoryError("golden checksums need the DORY layer numbering (compile.golden_positions)")
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
    if golden_dir is not None:
        assert golden_numbering is not None
        sums = golden_checksums(module, golden_dir, golden_numbering, boundary.layers)
    printing = time.perf_counter()
    files = gap8_app(module, name=name, source=source, inputs=data, golden_checksums=sums)
    seconds["C printing"] = time.perf_counter() - printing
    target = GAP8.with_budget(l2_code_reserved=options.l2_code_reserved)
    report = build_report(name, module, tiled, target, len(files["weights.bin"]), seconds)
    tiles = {x.index: x.tiles for x in report.layers}
    return CompiledApp(module, files, tiles, report.l2_peak, time.perf_counter() - start, report)


def golden_inputs(module: ModuleOp, golden_dir: str | Path) -> list[np.ndarray]:
    """The golden `input.txt` as the NCHW input array of an imported (qnn) module."""
    from dory_xdsl.golden import golden_input_array, read_golden_dir
    from dory_xdsl.interpreter import main_function

    golden = read_golden_dir(golden_dir)
    if golden.input is None:
        raise DoryError(f"{golden_dir}: no input.txt")
    shapes = [tuple(a.type.get_shape()) for a in main_function(module).body.block.args]  # type: ignore[union-attr]
    if len(shapes) != 1:
        raise DoryError(f"the model takes {len(shapes)} inputs; input.txt holds one")
    return [golden_input_array(golden.input, shapes[0])[0]]


def command_compile(args) -> int:
    """`dory compile`: write the application of MODEL.onnx to the output directory."""
    from dory_xdsl.lowering.app import write_app
    from dory_xdsl.onnx_import import float_inputs, import_onnx_bytes

    model = Path(args.model)
    if not model.is_file():
        raise DoryError(f"{model}: no such model file")
    start = time.perf_counter()
    data = model.read_bytes()
    signed = float_inputs(data, str(model)) if args.int8_input else frozenset()
    module = import_onnx_bytes(data, str(model), signed)
    import_seconds = time.perf_counter() - start
    inputs = numbering = None
    if args.golden:
        inputs = golden_inputs(module, args.golden)
    elif args.input:
        from dory_xdsl.cli import load_inputs
        from dory_xdsl.interpreter import main_function

        shapes = [tuple(a.type.get_shape()) for a in main_function(module).body.block.args]  # type: ignore[union-attr]
        inputs = load_inputs(args.input, shapes)
    if inputs is not None and not signed:
        from dory_xdsl.cli import typed_by_data

        module = typed_by_data(module, data, str(model), inputs)
    if args.golden:
        numbering = golden_positions(module, model)
    options = options_from_args(args)
    out = Path(args.output)
    app = compile_module(module, name=_app_name(out), source=model.name, inputs=inputs,
                         golden_dir=args.golden, golden_numbering=numbering, options=options)
    write_app(app.files, out)
    assert app.report is not None
    app.report.stage_seconds = {"import": import_seconds, **app.report.stage_seconds}
    if args.report == "-":
        print(app.report.text(), end="")
    elif args.report:
        Path(args.report).write_text(app.report.json_text())
    print(f"{out}: {len(app.layer_tiles)} layers ({app.multi_tile_layers} with more than one tile), "
          f"L2 {app.l2_bytes} B, weights {len(app.files['weights.bin'])} B, "
          f"compiled in {import_seconds + app.seconds:.1f} s")
    report_l2(app.files, str(out))
    return 0


def report_l2(files, where: str) -> None:
    """One line with the L2 estimate of the default build (`lowering.l2_budget`) and whether the
    WEIGHTS_L2=1 build fits; a warning line on stderr when the default build does not fit."""
    import sys

    from dory_xdsl.lowering.app import l2_usage_of
    from dory_xdsl.lowering.l2_budget import CHIP_L2_BYTES

    usage, with_weights = l2_usage_of(files), l2_usage_of(files, weights_l2=True)
    fits = "fits" if with_weights.total <= CHIP_L2_BYTES else f"does not fit ({with_weights.total - CHIP_L2_BYTES} B over)"
    print(f"L2 estimate: {usage.line()}; WEIGHTS_L2=1 {fits}")
    if usage.total > CHIP_L2_BYTES:
        print(f"dory: warning: {where}: L2: {usage.total - CHIP_L2_BYTES} B over GAP-8's {CHIP_L2_BYTES} B "
              "(estimate: lower the L2 plan with --l2-code-reserved)", file=sys.stderr)


def _app_name(path: Path) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in path.resolve().name)
    return name if name and not name[0].isdigit() else f"app_{name}"


def add_compile_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compile", help="compile a model into a GAP-8 application (C, Makefile, weights)",
        description="Compile MODEL.onnx into a gap_sdk application directory.",
    )
    p.add_argument("model", help="ONNX model (NEMO / Quantlab integer graph)")
    p.add_argument("-o", "--output", required=True, metavar="APP", help="application directory to write")
    p.add_argument("--golden", metavar="DIR", help="embed input.txt and check every golden layer's checksum")
    p.add_argument("--input", metavar="X.npy", help="input tensor (NCHW) to embed; .npz for several inputs")
    p.add_argument("--int8-input", action="store_true",
                   help="float graph inputs hold int8 values (default: uint8, or int8 when the given "
                        "input data is negative)")
    add_budget_arguments(p)
    p.add_argument("--report", metavar="FILE.json",
                   help="write the per-layer report (memory, DMA, tiles, cycles) as JSON; '-' prints it as a table")
    p.set_defaults(command=command_compile)
