"""The passes of dory-xdsl, one module each (installed as `dory_xdsl.transforms`).

`PASSES` maps each pass name to a lazy factory returning the pass class (its module is imported
only when the pass is used); the `gap8-lower` pipeline (`gap8_lower`) runs them in order and the
`dory-opt` registry (`dory_xdsl.drivers.registry`) adds that pipeline.

May import: the dialects, `dory_xdsl.analysis`, `dory_xdsl.tiling`, `dory_xdsl.semantics` and the
top-level modules; never the lowering, engines or drivers.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass


def _offset_int8() -> type[ModulePass]:
    from dory_xdsl.transforms.qnn_offset_int8 import QnnOffsetInt8Pass

    return QnnOffsetInt8Pass


def _fuse_requant() -> type[ModulePass]:
    from dory_xdsl.transforms.qnn_fuse_requant import QnnFuseRequantPass

    return QnnFuseRequantPass


def _merge_requant() -> type[ModulePass]:
    from dory_xdsl.transforms.qnn_merge_requant import QnnMergeRequantPass

    return QnnMergeRequantPass


def _to_nhwc() -> type[ModulePass]:
    from dory_xdsl.transforms.qnn_to_nhwc import QnnToNhwcPass

    return QnnToNhwcPass


def _legalize_pulp() -> type[ModulePass]:
    from dory_xdsl.transforms.qnn_legalize_pulp import QnnLegalizePulpPass

    return QnnLegalizePulpPass


def _widen_requant() -> type[ModulePass]:
    from dory_xdsl.transforms.qnn_widen_requant import QnnWidenRequantPass

    return QnnWidenRequantPass


def _tile() -> type[ModulePass]:
    from dory_xdsl.transforms.qnn_tile import QnnTilePass

    return QnnTilePass


def _l3_tile() -> type[ModulePass]:
    from dory_xdsl.transforms.qnn_l3_tile import QnnL3TilePass

    return QnnL3TilePass


def _convert_to_dory() -> type[ModulePass]:
    from dory_xdsl.transforms.convert_qnn_to_dory import ConvertQnnToDoryPass

    return ConvertQnnToDoryPass


PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "qnn-offset-int8": _offset_int8,
    "qnn-fuse-requant": _fuse_requant,
    "qnn-merge-requant": _merge_requant,
    "qnn-to-nhwc": _to_nhwc,
    "qnn-legalize-pulp": _legalize_pulp,
    "qnn-widen-requant": _widen_requant,
    "qnn-tile": _tile,
    "qnn-l3-tile": _l3_tile,
    "convert-qnn-to-dory": _convert_to_dory,
}
"""Pass name -> lazy factory of the pass class, in the order the `gap8-lower` pipeline runs them."""
