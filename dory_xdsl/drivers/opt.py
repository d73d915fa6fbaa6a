"""`dory-opt`: xDSL's `xdsl-opt` driver with the dory-xdsl dialects, passes and targets.

Every xDSL driver flag works. `.onnx` inputs are imported by `dory_xdsl.frontend.onnx_import`.
`dory-opt --list-passes` lists dory-xdsl's own passes, pipelines and targets with a one-line
description (the first sentence of the pass module's docstring) and their options (name, type,
default and the option's docstring), apart from xDSL's upstream ones.
Registration goes through the overridden `register_all_*` hooks only (no `xdsl.universe` entry
point), so the two mechanisms never clash.

Diagnostics (`dory_xdsl.drivers.diagnostics`): every refusal is one line `dory-opt: error: <where>: <what>`.
MLIR text is parsed by `source_diagnostics.LocatingParser`, so a verifier error names the op and
its `file:line:col`; `-p` pass options are checked one by one (`pass_options`), naming the option.
`--verify-diagnostics` checks `// expected-error {{...}}` / `// expected-warning {{...}}`
annotations (`@+N`, `@-N`) against what each chunk reports and exits 1 on any unmet expectation or
unexpected diagnostic (xDSL's own flag only prints). `--debug` shows an internal error's traceback.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
import textwrap
from collections.abc import Sequence
from io import BytesIO
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from dory_xdsl.drivers import registry
from dory_xdsl.drivers.diagnostics import one_line_argparse_errors, run_reporting_errors
from dory_xdsl.errors import DoryError
from dory_xdsl.drivers.pass_options import check_pipeline
from dory_xdsl.drivers.source_diagnostics import (
    Located,
    LocatedDiagnostic,
    LocatingParser,
    check_annotations,
    expectations,
    locate,
    parse_error_located,
)


DESCRIPTION = ("dory-opt: xdsl-opt with the dory-xdsl dialects, passes and targets. "
               "`dory-opt --list-passes` lists dory-xdsl's passes and pipelines with their options.")


def summary(doc: str | None, name: str = "") -> str:
    """The first sentence of a docstring, without a leading "`name`: "."""
    paragraph = " ".join((doc or "").strip().split("\n\n")[0].split())
    prefix = f"`{name}`: "
    if name and paragraph.startswith(prefix):
        paragraph = paragraph[len(prefix):]
    sentence = paragraph.split(". ")[0].rstrip(".")
    return sentence[:1].upper() + sentence[1:]


def option_docs(cls: type) -> dict[str, str]:
    """Field name -> its attribute docstring (the string right after the field in the class)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for field, after in zip(body, body[1:]):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name) \
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) \
                and isinstance(after.value.value, str):
            docs[field.target.id] = " ".join(after.value.value.split())
    return docs


def pass_list_text() -> str:
    """`dory-opt --list-passes`: dory-xdsl's passes, then its pipelines, then its targets."""
    from xdsl.passes import get_pass_option_infos

    from dory_xdsl.transforms.gap8_lower import BACKEND_PASSES

    factories = registry.get_passes()
    order = [*BACKEND_PASSES, *sorted(set(factories) - set(BACKEND_PASSES))]  # pipeline order first
    passes, pipelines = [], []
    for name in order:
        cls = factories[name]()
        lines = [f"  {name:22s} {summary(inspect.getmodule(cls).__doc__, name)}"]
        docs = option_docs(cls)
        for info in get_pass_option_infos(cls):
            option = info.name.replace("_", "-")
            kind = info.expected_type.strip("'")
            doc = f": {docs[info.name]}" if info.name in docs else ""
            lines.append(f"      {option}={info.default_value} ({kind}){doc}")
        if hasattr(cls, "steps"):
            lines.insert(1, "      runs: " + ", ".join(step.name for step in cls().steps()))
            pipelines.append(lines)
        else:
            passes.append(lines)
    targets = [f"  {name:22s} {summary(inspect.getmodule(factory()).__doc__, 'dory-opt -t ' + name)}"
               for name, factory in registry.get_targets().items()]
    return "\n".join(["dory-xdsl passes (dory-opt -p 'NAME{option=value ...}'):", *sum(passes, []),
                      "pipelines (passes that run other passes):", *sum(pipelines, []),
                      "targets (dory-opt -t NAME):", *targets]) + "\n"


class DoryOptMain(xDSLOptMain):
    def __init__(self, args: Sequence[str] | None = None):
        super().__init__(description=DESCRIPTION, args=args)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser):
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument("--list-passes", action="store_true",
                                help="list dory-xdsl's passes and pipelines (description, options) and exit")
        arg_parser.add_argument("--debug", action="store_true",
                                help="show the Python traceback of an internal error")

    def register_all_dialects(self):
        super().register_all_dialects()
        for name, factory in registry.get_dialects().items():
            self.ctx.register_dialect(name, factory)

    def register_all_passes(self):
        super().register_all_passes()
        for name, factory in registry.get_passes().items():
            self.register_pass(name, factory)

    def register_all_targets(self):
        super().register_all_targets()
        self.available_targets.update(registry.get_targets())

    def register_all_frontends(self):
        super().register_all_frontends()

        def parse_onnx(io: IO[bytes]):
            from dory_xdsl.frontend.onnx_import import import_onnx_bytes

            return import_onnx_bytes(io.read(), self.get_input_name())

        self.available_frontends["onnx"] = parse_onnx

    def setup_pipeline(self):
        check_pipeline(self.available_passes, self.args.passes)
        super().setup_pipeline()

    def get_input_stream(self):
        name = self.args.input_file
        if name is not None:
            from pathlib import Path

            path = Path(name)
            if path.is_dir():
                raise DoryError(f"{name}: is a directory, not an input file")
            if not path.exists():
                raise DoryError(f"{name}: no such input file")
        return super().get_input_stream()

    # --- MLIR text: located diagnostics --------------------------------------------------------

    parser: LocatingParser | None = None

    def parse_chunk(self, chunk: IO[bytes], file_extension: str, start_offset: int = 0) -> ModuleOp | None:
        if file_extension != "mlir" or self.args.frontend not in (None, "mlir"):
            return super().parse_chunk(chunk, file_extension, start_offset)
        data = chunk.read()
        try:
            text = data.decode()
        except UnicodeDecodeError as error:
            raise DoryError(f"{self.get_input_name()}: not UTF-8 text (byte {error.start})") from None
        if all(not line.strip() or line.strip().startswith("//") for line in text.splitlines()):
            if self.args.split_input_file:
                return None  # an empty chunk (e.g. after a trailing `// -----`)
            raise DoryError(f"{self.get_input_name()}: no operations to parse (empty input)")
        self.parser = LocatingParser(self.ctx, text, self.get_input_name(), start_offset)
        try:
            return self.parser.parse_module(not self.args.no_implicit_module)
        except ParseError as error:
            if self.args.parsing_diagnostics:
                raise  # xDSL prints it with its caret picture
            raise LocatedDiagnostic(parse_error_located(error, start_offset)) from None

    def apply_passes(self, prog: ModuleOp):
        try:
            super().apply_passes(prog)
        except (LocatedDiagnostic, DoryError):
            raise
        except DiagnosticException as error:
            if self.parser is None:
                raise
            located = locate(prog, self.parser, self.get_input_name())
            if located.line == 0:  # not a verifier failure of a parsed op: keep the pass's own words
                raise
            raise LocatedDiagnostic(located) from error

    def run(self):
        if self.args.list_passes:
            print(pass_list_text(), end="")
            return 0
        if not self.args.verify_diagnostics:
            return super().run()
        return self.run_verify_diagnostics()

    def run_verify_diagnostics(self) -> int:
        """Each chunk: produced diagnostics vs its annotations (`source_diagnostics`); every
        mismatch is one line on stderr and the exit code is 1. Chunks that verify are printed."""
        chunks, file_extension = self.prepare_input()
        problems: list[str] = []
        name = self.get_input_name()
        for index, (chunk, offset) in enumerate(chunks):
            data = chunk.read()
            chunk.close()
            produced: list[Located] = []
            try:
                module = self.parse_chunk(BytesIO(data), file_extension, offset)
                if module is not None:
                    self.apply_passes(module)
                    # as mlir-opt: chunks that verify are printed (`// -----` between chunks)
                    sys.stdout.write(("// -----\n" if index else "") + self.output_resulting_program(module))
            except LocatedDiagnostic as error:
                produced.append(error.located)
            except DiagnosticException as error:
                produced.append(Located(name, 0, 0, str(error).strip().splitlines()[0]))
            expected = expectations(data.decode(errors="replace"), offset)
            problems += check_annotations(name, expected, produced)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0


def main(args: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if args is None else args)
    debug = "--debug" in argv

    def body():
        with one_line_argparse_errors("dory-opt"):
            tool = DoryOptMain(args=argv)
        return tool.run()

    return run_reporting_errors("dory-opt", body, debug=debug)


if __name__ == "__main__":
    sys.exit(main())
