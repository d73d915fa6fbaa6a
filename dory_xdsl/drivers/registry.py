"""The dialects, passes and targets dory-xdsl adds to xDSL's, as lazy factories.

`dory-opt` registers these on top of xDSL's own (see `dory_xdsl.drivers.opt`); the `dory` driver builds
its pipelines from the same table. Imports stay inside the factories so start-up stays fast.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.utils.target import Target


def _qnn() -> Dialect:
    from dory_xdsl.dialects.qnn import Qnn

    return Qnn


def _dory() -> Dialect:
    from dory_xdsl.dialects.dory import Dory

    return Dory


def get_dialects() -> dict[str, Callable[[], Dialect]]:
    return {"qnn": _qnn, "dory": _dory}


def get_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Every pass of `dory_xdsl.transforms` (`PASSES`) and the `gap8-lower` pipeline."""
    from dory_xdsl.transforms import PASSES

    def gap8_lower() -> type[ModulePass]:
        from dory_xdsl.transforms.gap8_lower import Gap8LowerPass

        return Gap8LowerPass

    return {"gap8-lower": gap8_lower, **PASSES}


def get_targets() -> dict[str, Callable[[], type[Target]]]:
    def gap8_c() -> type[Target]:
        from dory_xdsl.lowering.target import Gap8CTarget

        return Gap8CTarget

    return {"gap8-c": gap8_c}
