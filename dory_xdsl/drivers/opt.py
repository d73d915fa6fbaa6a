"""`dory-opt`: xDSL's `xdsl-opt` driver with the dory-xdsl dialects, passes and targets.

Every xDSL driver flag works. `.onnx` inputs are imported by `dory_xdsl.frontend.onnx_import`.
`dory-opt --list-passes` lists dory-xdsl's own passes, pipelines and targets with a one-line
description (the first sentence of the pass module's docstring) and their options (name, type,
default and the option's docstring), apart from xDSL's upstream ones.
Registration goes through the overridden `register_all_*` hooks only (no `xdsl.universe` entry
point), so the two mechanisms never clash.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
import textwrap
from collections.abc import Sequence
from typing import IO

from xdsl.xdsl_opt_main import xDSLOptMain

from dory_xdsl.drivers import registry
from dory_xdsl.drivers.diagnostics import run_reporting_errors


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

    def run(self):
        if self.args.list_passes:
            print(pass_list_text(), end="")
            return
        super().run()

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


def main(args: Sequence[str] | None = None) -> int:
    return run_reporting_errors("dory-opt", lambda: DoryOptMain(args=args).run())


if __name__ == "__main__":
    sys.exit(main())
