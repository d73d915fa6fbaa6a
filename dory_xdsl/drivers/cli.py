"""The `dory` command: subcommands over the whole compiler.

`dory run MODEL.onnx [--golden DIR] [--input X.npy] [--output Y.npy] [--engine NAME]` imports
an ONNX model, runs it with an engine (`dory_xdsl.engines.registry`) and either checks every DORY golden
tensor of DIR (one line each, then `golden: M/N tensors bit-exact`; exit 1 unless all match)
or runs on an `.npy` input (NCHW, as the ONNX graph takes it; `.npz` with one array per graph
input, in order, for several inputs) and saves the final output (`.npy`; with several outputs
an `.npz` with keys `output0`, `output1`, ...).

`dory gen-mobilenet --width W --resolution R --seed S -o DIR` writes an integer MobileNetV1 graph
with golden data (`dory_xdsl.generators.mobilenet`).

User errors print `dory: error: <one line>` and exit 1 (`DORY_TRACEBACK=1` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dory_xdsl.drivers.diagnostics import run_reporting_errors
from dory_xdsl.engines.registry import ENGINES, prepare_engine
from dory_xdsl.drivers.tensor_files import load_inputs, save_outputs, typed_by_data
from dory_xdsl.errors import DoryError
from dory_xdsl.generators.mobilenet import add_gen_mobilenet_parser


def add_run_parser(subparsers) -> None:
    run = subparsers.add_parser(
        "run", help="run a model and check it against DORY golden data or save its output",
        description="Import MODEL.onnx, run it, and compare against DORY golden files or save the output.",
    )
    run.add_argument("model", help="ONNX model (NEMO / Quantlab integer graph)")
    run.add_argument("--golden", metavar="DIR", help="folder with input.txt and out_layer<N>.txt, "
                     "or a TFLite golden .npz (dory_xdsl.golden.npz)")
    run.add_argument("--tolerance", type=int, default=1, metavar="N",
                     help="with a golden .npz: largest |diff| (in LSB) a case may have (default: 1)")
    run.add_argument("--input", metavar="X.npy", help="input tensor (NCHW); .npz for several inputs")
    run.add_argument("--output", metavar="Y.npy", help="where to save the final output (.npz for several)")
    run.add_argument("--engine", default="reference", choices=sorted(ENGINES),
                     help="how to execute the model (default: reference)")
    from dory_xdsl.drivers.compile import add_budget_arguments

    add_budget_arguments(run)  # used by the engines that lower the model (tiled, host)
    run.set_defaults(command=command_run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dory", description="dory-xdsl: deploy quantized networks on GAP-8.")
    subparsers = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")
    add_run_parser(subparsers)
    from dory_xdsl.drivers.compile import add_compile_parser

    add_compile_parser(subparsers)
    add_gen_mobilenet_parser(subparsers)
    return parser


def shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape)) or "scalar"


class GoldenCheck:
    """`--golden DIR`: the input from input.txt, DORY's layer numbers (computed before the
    engine runs, since engines may lower the module in place), and the report."""

    def __init__(self, folder: str, module, data: bytes, model_name: str, shapes: list[tuple[int, ...]]):
        from dory_xdsl.analysis.dory_layers import dory_layers
        from dory_xdsl.golden import dory_dir as gold
        from dory_xdsl.golden.numbering import dory_positions
        from dory_xdsl.frontend.onnx_graph import index_graph, parse_model

        self.golden = gold.read_golden_dir(folder)
        if self.golden.input is None:
            raise DoryError(f"{folder}: no input.txt")
        if len(shapes) != 1:
            raise DoryError(f"the model takes {len(shapes)} inputs; input.txt holds one")
        array, order = gold.golden_input_array(self.golden.input, shapes[0])
        print(f"input.txt ({self.golden.input.name}) {shape_text(shapes[0])} read in {order} order")
        self.inputs = [array]
        self.positions = dory_positions(module, index_graph(parse_model(data, model_name)))
        self.layer_count = len(dory_layers(module))

    def report(self, engine: str, layer_outputs: list[np.ndarray]) -> int:
        """Print one line per golden tensor and the summary; 0 when all are bit-exact."""
        from dory_xdsl.golden import dory_dir as gold
        from dory_xdsl.golden.numbering import by_dory_number

        if len(layer_outputs) != self.layer_count:
            raise DoryError(f"engine '{engine}' returned {len(layer_outputs)} layer outputs, "
                            f"the model has {self.layer_count} layers")
        comparisons = gold.check_golden(by_dory_number(self.positions, layer_outputs), self.golden)
        for comparison in comparisons:
            print(comparison.line())
        print(gold.summary_line(comparisons))
        return 0 if all(c.ok for c in comparisons) else 1


def command_run(args: argparse.Namespace) -> int:
    from dory_xdsl.analysis.interpreter import main_function
    from dory_xdsl.frontend.onnx_import import DROPPED_ATTR, import_onnx_bytes

    if args.golden and args.input:
        raise DoryError("--golden takes the input from input.txt: do not combine it with --input")
    if not args.golden and not args.input:
        raise DoryError("dory run needs --golden DIR or --input X.npy")
    from dory_xdsl.drivers.compile import options_from_args

    options = options_from_args(args)
    if not Path(args.model).is_file():
        raise DoryError(f"{args.model}: no such model file")
    data = Path(args.model).read_bytes()
    module = import_onnx_bytes(data, args.model)
    main = main_function(module)
    if args.golden and args.golden.endswith(".npz"):
        from dory_xdsl.golden.npz import run_npz

        return run_npz(args.golden, module, args.engine, args.tolerance, options)
    shapes = [tuple(arg.type.get_shape()) for arg in main.body.block.args]  # type: ignore[union-attr]
    check = GoldenCheck(args.golden, module, data, args.model, shapes) if args.golden else None
    inputs = check.inputs if check else load_inputs(args.input, shapes)
    typed = typed_by_data(module, data, args.model, inputs)
    if check is not None and typed is not module:
        check = GoldenCheck(args.golden, typed, data, args.model, shapes)
    module = typed
    main = main_function(module)
    dropped = main.attributes.get(DROPPED_ATTR)
    result = prepare_engine(args.engine, module, options)(inputs)
    if dropped is not None:
        names = ", ".join(item.data for item in dropped.data)  # type: ignore[union-attr]
        print(f"note: outputs stop at the last integer tensors; float tail not run: {names}")
    for index, output in enumerate(result.outputs):
        print(f"output{index}: {shape_text(output.shape)} {output.dtype}")
    if args.output:
        save_outputs(args.output, result.outputs)
    return check.report(args.engine, result.layers) if check else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_reporting_errors("dory", lambda: args.command(args))


if __name__ == "__main__":
    sys.exit(main())
