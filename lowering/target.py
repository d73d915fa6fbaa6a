"""`dory-opt -t gap8-c`: print lowered IR (after `convert-qnn-to-dory`) as the GAP-8 application.

Prints every text file of `dory_xdsl.lowering.app.gap8_app`, each after a line
`// ===== <file name> =====` (weights.bin as its size and hex bytes), so the C can be read
or FileCheck-ed without writing a directory. `dory compile` writes the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.target import Target

from dory_xdsl.lowering.app import gap8_app, hex_lines

TEXT_FILES = ("Makefile", "main.c", "network.h", "network.c", "input.c", "weights.c")


@dataclass(frozen=True)
class Gap8CTarget(Target):
    name = "gap8-c"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        files = gap8_app(module)
        for file_name in TEXT_FILES:
            output.write(f"// ===== {file_name} =====\n")
            output.write(files[file_name].decode())
        output.write(f"// ===== weights.bin ===== {len(files['weights.bin'])} bytes\n")
        output.write(hex_lines(files["weights.bin"]))
