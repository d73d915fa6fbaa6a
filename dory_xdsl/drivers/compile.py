"""`dory compile MODEL.onnx -o APP`: from an ONNX model to a GAP-8 application directory.

Imports the model, runs the lowering pipeline (`dory_xdsl.lowering.pipeline.compile_module`) and
writes the files. With `--golden DIR` the app embeds the golden input and checks a byte-sum
checksum of every golden layer output; with `--input X.npy` it runs on that input.
`--report FILE.json` writes `dory_xdsl.lowering.report`'s per-layer and total figures (memory per
level, DMA per direction, tiles, modelled cycles, L2 peak vs the liveness lower bound, compile time
per stage: imports, ONNX import, each pass with qnn-tile's search and Z3 proofs apart, C printing,
report, writing) and the same as a self-contained HTML page, FILE.html (`lowering.report_html`);
`--report -` prints them as a table. `--cache DIR` keeps proved layer tilings between compiles
(`tiling.tiling_cache`). On a terminal, a progress line on stderr follows the tiling of the
layers once the compile has taken more than a second (`drivers.progress`).
"""

from __future__ import annotations

import time
from pathlib import Path

from dory_xdsl.errors import DoryError
from dory_xdsl.lowering.pipeline import CompileOptions
from dory_xdsl.target import GAP8


def add_budget_arguments(p) -> None:
    """The memory budget and tiling options shared by `dory compile` and `dory run`."""
    p.add_argument("--l1-bytes", type=int, default=GAP8.l1_bytes, help="L1 budget per layer (default %(default)s)")
    p.add_argument("--l2-code-reserved", type=int, default=GAP8.l2_code_reserved,
                   help="L2 bytes kept for code (default %(default)s)")
    p.add_argument("--objective", choices=("cost", "dory"), default="cost", help="tiling objective")


def options_from_args(args) -> CompileOptions:
    return CompileOptions(l1_bytes=args.l1_bytes, l2_code_reserved=args.l2_code_reserved,
                          objective=args.objective, cache=getattr(args, "cache", None) or "",
                          pulp_nn=getattr(args, "pulp_nn", None))


def command_compile(args) -> int:
    """`dory compile`: write the application of MODEL.onnx to the output directory."""
    begin = time.perf_counter()
    from dory_xdsl.drivers.progress import ProgressLine
    from dory_xdsl.analysis.range_overflow import warn_range_overflows
    from dory_xdsl.frontend.onnx_import import float_inputs, import_onnx_bytes
    from dory_xdsl.golden.dory_dir import golden_inputs, golden_layer_values
    from dory_xdsl.golden.numbering import golden_positions
    from dory_xdsl.lowering.app import write_app
    from dory_xdsl.lowering.pipeline import compile_module
    from dory_xdsl.transforms.qnn_tile import reporting_progress

    model = Path(args.model)
    if not model.is_file():
        raise DoryError(f"{model}: no such model file")
    start = time.perf_counter()
    imports_seconds = start - begin
    data = model.read_bytes()
    signed = float_inputs(data, str(model)) if args.int8_input else frozenset()
    module = import_onnx_bytes(data, str(model), signed)
    import_seconds = time.perf_counter() - start
    warn_range_overflows(module)
    inputs = golden_layers = numbering = None
    if args.golden:
        inputs = golden_inputs(module, args.golden)
        golden_layers = golden_layer_values(args.golden)
    elif args.input:
        from dory_xdsl.drivers.tensor_files import load_inputs
        from dory_xdsl.analysis.interpreter import main_function

        shapes = [tuple(a.type.get_shape()) for a in main_function(module).body.block.args]  # type: ignore[union-attr]
        inputs = load_inputs(args.input, shapes)
    if inputs is not None and not signed:
        from dory_xdsl.drivers.tensor_files import typed_by_data

        module = typed_by_data(module, data, str(model), inputs)
    if args.golden:
        numbering = golden_positions(module, model)
    options = options_from_args(args)
    out = Path(args.output)
    progress = ProgressLine(start=begin)
    try:
        with reporting_progress(progress.layer):
            app = compile_module(module, name=_app_name(out), source=model.name, inputs=inputs,
                                 golden_layers=golden_layers, golden_numbering=numbering,
                                 options=options)
    finally:
        progress.finish()
    writing = time.perf_counter()
    write_app(app.files, out)
    report_l2(app.files, str(out))
    assert app.report is not None
    app.report.stage_seconds = {"imports": imports_seconds, "ONNX import": import_seconds,
                                **app.report.stage_seconds, "writing": time.perf_counter() - writing}
    if args.report == "-":
        print(app.report.text(), end="")
    elif args.report:
        write_reports(app.report, Path(args.report))
    print(f"{out}: {len(app.layer_tiles)} layers ({app.multi_tile_layers} with more than one tile), "
          f"L2 {app.l2_bytes} B, weights {len(app.files['weights.bin'])} B, "
          f"compiled in {import_seconds + app.seconds:.1f} s")
    return 0


def write_reports(report, path: Path) -> None:
    """`--report FILE`: the JSON at FILE (FILE.json when it ends in .html) and the HTML page
    (`lowering.report_html`) beside it, same name with .html."""
    from dory_xdsl.lowering.report_html import report_html

    json_path = path.with_suffix(".json") if path.suffix == ".html" else path
    data = report.to_json()
    json_path.write_text(report.json_text())
    path.with_suffix(".html").write_text(report_html(data))


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
    p.add_argument("--cache", metavar="DIR", help="keep proved layer tilings in DIR and reuse them "
                   "(keyed by geometry, budgets, target, objective and solver version)")
    p.add_argument("--report", metavar="FILE.json",
                   help="write the per-layer report (memory, DMA, tiles, cycles) as JSON and, beside it, as a "
                        "self-contained HTML page (FILE.html); '-' prints it as a table")
    p.set_defaults(command=command_compile)
