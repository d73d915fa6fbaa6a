"""The `dory` command: subcommands over the whole compiler.

`dory run MODEL.onnx [--golden DIR] [--input X.npy] [--output Y.npy] [--engine NAME]` imports
an ONNX model, runs it with an engine (`dory_xdsl.engines.registry`) and either checks every DORY golden
tensor of DIR (one line each, then `golden: M/N tensors bit-exact`; exit 1 unless all match;
every case: `input.txt` with `out_layer<N>.txt`, `input_<i>.txt` with `out_<i>_layer<N>.txt`;
the input range from DORY's config JSON, `dory_xdsl.golden.config`; `--output` saves the first)
or runs on an `.npy` input (NCHW, as the ONNX graph takes it; `.npz` with one array per graph
input, in order, for several inputs) and saves the final output (`.npy`; with several outputs
an `.npz` with keys `output0`, `output1`, ...).

`dory gen-mobilenet --width W --resolution R --seed S -o DIR` writes an integer MobileNetV1 graph
with golden data (`dory_xdsl.generators.mobilenet`).

A graph ending in real-valued ops (`Sigmoid`, `Softmax`, ...) is refused unless
`--drop-float-tail` is given; then the outputs are the last integer tensors and a note says so.

Every refusal prints one line `dory: error: <where>: <what>` and exits non-zero
(`dory_xdsl.drivers.diagnostics`); an internal error prints one line asking for a report
(`--debug` anywhere on the command line, or `DORY_TRACEBACK=1`, shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dory_xdsl.drivers.diagnostics import run_reporting_errors
from dory_xdsl.engines.registry import BUILDS_APP, ENGINES, prepare_engine
from dory_xdsl.drivers.tensor_files import checked_inputs, load_inputs, save_outputs, typed_by_data
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
    run.add_argument("--tolerance", type=non_negative_int, default=1, metavar="N",
                     help="with a golden .npz: largest |diff| (in LSB) a case may have (default: 1)")
    run.add_argument("--input", metavar="X.npy", help="input tensor (NCHW); .npz for several inputs")
    run.add_argument("--output", metavar="Y.npy", help="where to save the final output (.npz for several)")
    run.add_argument("--config", metavar="FILE.json", help="DORY's network configuration (input_bits, "
                     "input_signed, n_inputs); default: the one JSON configuration in the golden folder")
    run.add_argument("--engine", default="reference", choices=sorted(ENGINES),
                     help="how to execute the model (default: reference)")
    run.add_argument("--pulp-nn", metavar="DIR", help="with --engine host or qemu-rv32: build the app against "
                     "the PULP-NN checkout DIR (DIR/32bit or DIR/64bit, as the app needs) instead of "
                     "dory-xdsl's own kernels")
    from dory_xdsl.drivers.compile import add_budget_arguments

    add_budget_arguments(run)  # used by the engines that lower the model (tiled, host)
    run.set_defaults(command=command_run)


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative (a tolerance counts LSB, 0 or more)")
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a command-line mistake is one line `dory: error: ...` (no usage block)."""

    def error(self, message: str):
        self.exit(2, f"dory: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="dory", description="dory-xdsl: deploy quantized networks on GAP-8.")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an internal error (anywhere on the command line)")
    subparsers = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND",
                                       parser_class=OneLineParser)
    add_run_parser(subparsers)
    from dory_xdsl.drivers.compile import add_compile_parser

    add_compile_parser(subparsers)
    add_gen_mobilenet_parser(subparsers)
    return parser


def shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape)) or "scalar"


class GoldenCheck:
    """`--golden DIR`: the inputs of every golden case (`input.txt`, `input_<i>.txt`), DORY's
    layer numbers (`number`, before the engine runs, since engines may lower the module in
    place), and the report."""

    def __init__(self, folder: str, shapes: list[tuple[int, ...]], config=None):
        from dory_xdsl.golden import dory_dir as gold

        self.cases = gold.read_golden_cases(folder)
        numbered = [c for c in self.cases if c.case]
        if config is not None and config.n_inputs is not None and numbered and len(numbered) != config.n_inputs:
            raise DoryError(f"{config.path}: n_inputs is {config.n_inputs}, {folder} has {len(numbered)} "
                            f"input_<i>.txt cases")
        if len(shapes) != 1:
            raise DoryError(f"the model takes {len(shapes)} inputs; input.txt holds one")
        if config is not None:
            print(f"{config.path.name}: input {config.describe_input()} {list(config.input_range())}")
        self.inputs = []
        for case in self.cases:
            if case.input is None:
                raise DoryError(f"{folder}: no input.txt")
            array, order = gold.golden_input_array(case.input, shapes[0])
            if config is not None:
                lo, hi = config.input_range()
                if array.size and (array.min() < lo or array.max() > hi):
                    raise DoryError(f"{case.input.path}: values in [{array.min()}, {array.max()}] are outside the "
                                    f"{config.describe_input()} input range [{lo}, {hi}] of {config.path.name}")
            print(f"{case.input.path.name} ({case.input.name}) {shape_text(shapes[0])} read in {order} order")
            self.inputs.append([array])

    def number(self, module, data: bytes, model_name: str) -> None:
        """DORY's layer numbers of the imported `module` and the range overflows of its layers."""
        from dory_xdsl.analysis.dory_layers import dory_layers
        from dory_xdsl.analysis.range_overflow import layer_overflows
        from dory_xdsl.frontend.onnx_graph import index_graph, parse_model
        from dory_xdsl.golden.numbering import dory_positions

        self.positions = dory_positions(module, index_graph(parse_model(data, model_name)))
        layers = dory_layers(module)
        self.layer_count = len(layers)
        own, sources = layer_overflows([layer.op for layer in layers])
        number = {p: n for n, p in enumerate(self.positions) if p is not None}
        self.overflows = [None if p is None else (own[p], {number[s] for s in sources[p] if s in number})
                          for p in self.positions]

    def report(self, engine: str, layer_outputs: list[list[np.ndarray]]) -> int:
        """Print one line per golden tensor of every case and the summary; 0 when all are bit-exact."""
        from dory_xdsl.golden import dory_dir as gold
        from dory_xdsl.golden.numbering import by_dory_number

        comparisons = []
        for case, outputs in zip(self.cases, layer_outputs):
            if len(outputs) != self.layer_count:
                raise DoryError(f"engine '{engine}' returned {len(outputs)} layer outputs, "
                                f"the model has {self.layer_count} layers")
            comparisons += gold.check_golden(by_dory_number(self.positions, outputs), case, self.overflows)
        for comparison in comparisons:
            print(comparison.line())
        print(gold.summary_line(comparisons, len(self.cases)))
        return 0 if all(c.ok for c in comparisons) else 1


def command_run(args: argparse.Namespace) -> int:
    from dory_xdsl.analysis.interpreter import main_function
    from dory_xdsl.analysis.range_overflow import warn_range_overflows
    from dory_xdsl.drivers.compile import check_float_tail, read_model
    from dory_xdsl.frontend.onnx_import import import_onnx_bytes

    if args.golden and args.input:
        raise DoryError("--golden takes the input from input.txt: do not combine it with --input")
    if not args.golden and not args.input:
        raise DoryError("dory run needs --golden DIR or --input X.npy")
    if args.pulp_nn and args.engine not in BUILDS_APP:
        raise DoryError(f"--pulp-nn needs an engine that builds the app ({', '.join(sorted(BUILDS_APP))}), "
                        f"not '{args.engine}'")
    from dory_xdsl.drivers.compile import options_from_args

    options = options_from_args(args)
    config = dory_config(args)
    data = read_model(args.model)
    ranges = None if config is None or config.input_range() == (0, 255) else [config.input_range()]
    module = import_onnx_bytes(data, args.model, input_ranges=ranges)
    main = main_function(module)
    dropped = check_float_tail(module, args.drop_float_tail)
    if args.golden and args.golden.endswith(".npz"):
        from dory_xdsl.golden.npz import run_npz

        warn_range_overflows(module)
        return run_npz(args.golden, module, args.engine, args.tolerance, options)
    shapes = [tuple(arg.type.get_shape()) for arg in main.body.block.args]  # type: ignore[union-attr]
    check = GoldenCheck(args.golden, shapes, config) if args.golden else None
    cases = check.inputs if check else [load_inputs(args.input, shapes)]
    if ranges is None:  # no config: a float input with negative values is int8
        every = [np.concatenate([np.ravel(case[i]) for case in cases]) for i in range(len(shapes))]
        module = typed_by_data(module, data, args.model, every)
    warn_range_overflows(module)
    if check is not None:
        check.number(module, data, args.model)
    main = main_function(module)
    where = str(Path(args.golden) / "input.txt") if check else args.input
    cases = [checked_inputs(where, case, [arg.type for arg in main.body.block.args]) for case in cases]
    if args.output and Path(args.output).is_dir():
        raise DoryError(f"{args.output}: is a folder")
    run = prepare_engine(args.engine, module, options)
    results = [run(inputs) for inputs in cases]
    if dropped:
        print(f"note: --drop-float-tail: outputs stop at the last integer tensors; dropped: {', '.join(dropped)}")
    for index, output in enumerate(results[0].outputs):
        print(f"output{index}: {shape_text(output.shape)} {output.dtype}")
    if args.output:
        save_outputs(args.output, results[0].outputs)
    return check.report(args.engine, [r.layers for r in results]) if check else 0


def dory_config(args: argparse.Namespace):
    """DORY's configuration: `--config FILE`, else the one in the golden folder, if any."""
    from dory_xdsl.golden.config import find_config, read_config

    if args.config:
        return read_config(args.config)
    if args.golden and Path(args.golden).is_dir():
        return find_config(args.golden)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    args = build_parser().parse_args([a for a in argv if a != "--debug"])
    return run_reporting_errors("dory", lambda: args.command(args), debug=debug)


if __name__ == "__main__":
    sys.exit(main())
