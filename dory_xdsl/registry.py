"""The dialects, passes and targets dory-xdsl adds to xDSL's, as lazy factories.

`dory-opt` registers these on top of xDSL's own (see `dory_xdsl.opt`); the `dory` driver builds
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
    def fuse_requant() -> type[ModulePass]:
        from dory_xdsl.transforms.qnn_fuse_requant import QnnFuseRequantPass

        return QnnFuseRequantPass

    def merge_requant() -> type[ModulePass]:
        from dory_xdsl.transforms.qnn_merge_requant import QnnMergeRequantPass

        return QnnMergeRequantPass

    def to_nhwc() -> type[ModulePass]:
        from dory_xdsl.transforms.qnn_to_nhwc import QnnToNhwcPass

        return QnnToNhwcPass

    def tile() -> type[ModulePass]:
        from dory_xdsl.transforms.qnn_tile import QnnTilePass

        return QnnTilePass

    def convert_to_dory() -> type[ModulePass]:
        from dory_xdsl.transforms.convert_qnn_to_dory import ConvertQnnToDoryPass

        return ConvertQnnToDoryPass

    def widen_requant() -> type[ModulePass]:
        from dory_xdsl.transforms.qnn_widen_requant import QnnWidenRequantPass

        return QnnWidenRequantPass

    def legalize_pulp() -> type[ModulePass]:
        from dory_xdsl.transforms.qnn_legalize_pulp import QnnLegalizePulpPass

        return QnnLegalizePulpPass

    def l3_tile() -> type[ModulePass]:
        from dory_xdsl.transforms.qnn_l3_tile import QnnL3TilePass

        return QnnL3TilePass

    def offset_int8() -> type[ModulePass]:
        from dory_xdsl.transforms.qnn_offset_int8 import QnnOffsetInt8Pass

        return QnnOffsetInt8Pass

    def gap8_lower() -> type[ModulePass]:
        from dory_xdsl.transforms.gap8_lower import Gap8LowerPass

        return Gap8LowerPass

    return {
        "gap8-lower": gap8_lower,
        "qnn-legalize-pulp": legalize_pulp,
        "qnn-widen-requant": widen_requant,
        "qnn-tile": tile,
        "qnn-l3-tile": l3_tile,
        "convert-qnn-to-dory": convert_to_dory,
        "qnn-offset-int8": offset_int8,
        "qnn-fuse-requant": fuse_requant,
        "qnn-merge-requant": merge_requant,
        "qnn-to-nhwc": to_nhwc,
    }


def get_targets() -> dict[str, Callable[[], type[Target]]]:
    def gap8_c() -> type[Target]:
        from dory_xdsl.lowering.target import Gap8CTarget

        return Gap8CTarget

    return {"gap8-c": gap8_c}
