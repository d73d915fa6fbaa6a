"""`dory-opt`: xDSL's `xdsl-opt` driver with the dory-xdsl dialects, passes and targets.

Every xDSL driver flag works. `.onnx` inputs are imported by `dory_xdsl.onnx_import`.
Registration goes through the overridden `register_all_*` hooks only (no `xdsl.universe` entry
point), so the two mechanisms never clash.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO

from xdsl.xdsl_opt_main import xDSLOptMain

from dory_xdsl import registry
from dory_xdsl.diagnostics import run_reporting_errors


class DoryOptMain(xDSLOptMain):
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
            from dory_xdsl.onnx_import import import_onnx_bytes

            return import_onnx_bytes(io.read(), self.get_input_name())

        self.available_frontends["onnx"] = parse_onnx


def main(args: Sequence[str] | None = None) -> int:
    return run_reporting_errors("dory-opt", lambda: DoryOptMain(args=args).run())


if __name__ == "__main__":
    sys.exit(main())
