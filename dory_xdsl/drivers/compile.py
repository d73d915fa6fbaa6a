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
    p.add_argument("--drop-float-tail", action="store_true",
                   help="deploy a graph that ends in real-valued ops (Sigmoid, Softmax, ...) without them: "
                        "the outputs are the last integer tensors (said on stdout and in the report)")


def options_from_args(args) -> CompileOptions:
    """The budgets of the flags, checked against the target (each refusal names its flag)."""
    problem = GAP8.budget_problem(l1_bytes=args.l1_bytes, l2_code_reserved=args.l2_code_reserved)
    if problem is not None:
        raise DoryError(f"--{problem[0]}: {problem[1]}")
    return CompileOptions(l1_bytes=args.l1_bytes, l2_code_reserved=args.l2_code_reserved,
                          objective=args.objective, cache=getattr(args, "cache", None) or "",
                          pulp_nn=getattr(args, "pulp_nn", None))


def read_model(path: str) -> bytes:
    model = Path(path)
    if model.is_dir():
        raise DoryError(f"{path}: is a directory, not an ONNX model file")
    if not model.is_file():
        raise DoryError(f"{path}: no such model file")
    try:
        return model.read_bytes()
    except OSError as error:
        raise DoryError(f"{path}: cannot read ({error.strerror})") from None


def check_float_tail(module, drop: bool) -> list[str]:
    """The float tail the importer dropped (`qnn.dropped_float_tail`); refused unless `drop`.
    A final QDQ Softmax (`qnn.softmax_tail`) is computed, not dropped."""
    from dory_xdsl.analysis.interpreter import main_function
    from dory_xdsl.frontend.onnx_import import DROPPED_ATTR

    main = main_function(module)
    if "qnn.softmax_tail" in main.attributes:
        return []
    dropped = main.attributes.get(DROPPED_ATTR)
    names = [item.data for item in dropped.data] if dropped is not None else []  # type: ignore[union-attr]
    if names and not drop:
        raise DoryError(f"{names[0]}: the graph ends in real-valued ops ({', '.join(names)}); pass "
                        f"--drop-float-tail to deploy the integer part and drop them")
    return names


def command_compile(args) -> int:
    """`dory compile`: write the application of MODEL.onnx to the output directory."""
    begin = time.perf_counter()
    from dory_xdsl.drivers.progress import ProgressLine
    from dory_xdsl.analysis.range_overflow import warn_range_overflows
    from dory_xdsl.frontend.onnx_import import float_inputs, import_onnx_bytes
    from dory_xdsl.golden.dory_dir import golden_inputs, golden_layer_values
    from dory_xdsl.golden.numbering import golden_positions
    from dory_xdsl.analysis.interpreter import main_function
    from dory_xdsl.drivers.output_folder import check_destinations, publish
    from dory_xdsl.drivers.tensor_files import checked_inputs
    from dory_xdsl.lowering.pipeline import compile_module
    from dory_xdsl.transforms.qnn_tile import reporting_progress

    if args.golden and args.input:
        raise DoryError("--golden embeds input.txt: do not combine it with --input")
    options = options_from_args(args)
    model = Path(args.model)
    out = Path(args.output)
    report_path = Path(args.report) if args.report and args.report != "-" else None
    check_destinations(out, report_path)
    start = time.perf_counter()
    imports_seconds = start - begin
    data = read_model(args.model)
    signed = float_inputs(data, str(model)) if args.int8_input else frozenset()
    module = import_onnx_bytes(data, str(model), signed)
    import_seconds = time.perf_counter() - start
    dropped = check_float_tail(module, args.drop_float_tail)
    warn_range_overflows(module)
    inputs = golden_layers = numbering = None
    if args.golden:
        inputs = golden_inputs(module, args.golden)
        golden_layers = golden_layer_values(args.golden)
    elif args.input:
        from dory_xdsl.drivers.tensor_files import load_inputs

        shapes = [tuple(a.type.get_shape()) for a in main_function(module).body.block.args]  # type: ignore[union-attr]
        inputs = load_inputs(args.input, shapes)
    if inputs is not None and not signed:
        from dory_xdsl.drivers.tensor_files import typed_by_data

        module = typed_by_data(module, data, str(model), inputs)
    if inputs is not None:
        where = str(Path(args.golden) / "input.txt") if args.golden else args.input
        inputs = checked_inputs(where, inputs, [a.type for a in main_function(module).body.block.args])
    if args.golden:
        numbering = golden_positions(module, model)
    progress = ProgressLine(start=begin)
    try:
        with reporting_progress(progress.layer):
            app = compile_module(module, name=_app_name(out), source=model.name, inputs=inputs,
                                 golden_layers=golden_layers, golden_numbering=numbering,
                                 options=options)
    finally:
        progress.finish()
    writing = time.perf_counter()
    assert app.report is not None
    app.report.dropped_float_tail = dropped
    app.report.stage_seconds = {"imports": imports_seconds, "ONNX import": import_seconds,
                                **app.report.stage_seconds}

    def reports() -> list[tuple[Path, str]]:
        app.report.stage_seconds["writing"] = time.perf_counter() - writing  # type: ignore[union-attr]
        return report_files(app.report, report_path) if report_path else []

    publish(out, app.files, reports)
    if args.report == "-":
        print(app.report.text(), end="")
    report_l2(app.files, str(out))
    if dropped:
        print(f"note: --drop-float-tail: outputs stop at the last integer tensors; dropped: {', '.join(dropped)}")
    print(f"{out}: {len(app.layer_tiles)} layers ({app.multi_tile_layers} with more than one tile), "
          f"L2 {app.l2_bytes} B, weights {len(app.files['weights.bin'])} B, "
          f"compiled in {import_seconds + app.seconds:.1f} s")
    return 0


def report_files(report, path: Path) -> list[tuple[Path, str]]:
    """`--report FILE`: the JSON at FILE (FILE.json when it ends in .html) and the HTML page
    (`lowering.report_html`) beside it, same name with .html, as (path, text) to publish."""
    from dory_xdsl.lowering.report_html import report_html

    json_path = path.with_suffix(".json") if path.suffix == ".html" else path
    return [(json_path, report.json_text()), (path.with_suffix(".html"), report_html(report.to_json()))]


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
