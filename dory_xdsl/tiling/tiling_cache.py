"""On-disk cache of proved layer tilings (`dory compile --cache DIR`, `qnn-tile{cache="DIR"}`).

A recompile after a small change re-solves only the layers whose problem changed. An entry is
keyed by the whole problem: the layer geometry (without its name), the target (L1 budget,
cores, alignment, DMA limits, kernel speeds), the objective, the buffering, the Z3 resource
limit, and the solver version: the package version plus a hash of the source of every module
the answer depends on (`SOLVER_MODULES`), so editing the model, the search or the cost formulas
invalidates every entry. Only results Z3 proved optimal are stored; a cached result is
returned with `from_cache=True` and its lookup time as `solve_seconds`.

One JSON file per entry, `<sha256 of the key>.json`, holding the key text (checked on read: a
hash collision or a foreign file is a miss) and the `TilingResult` fields. Writes go to a
temporary file renamed into place, so concurrent compiles sharing a folder never read half an
entry. An unreadable, corrupt or mismatching entry is a miss (and is overwritten).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path

from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import Target
from dory_xdsl.tiling.tiles import TileSizes

SOLVER_MODULES = ("tiling_model.py", "tiling_search.py", "tiling_cost.py", "tiles.py", "z3_terms.py",
                  "layer_geometry.py", "tiling_cache.py", "../target.py")  # relative to this folder
FORMAT = 1


@functools.cache
def solver_version() -> str:
    """The package version and a hash of the solver's source files (beside this one)."""
    digest = hashlib.sha256()
    for name in SOLVER_MODULES:
        digest.update((Path(__file__).parent / name).read_bytes())
    try:
        version = metadata.version("dory-xdsl")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"{version}+{digest.hexdigest()[:16]}"


def problem_key(g: LayerGeometry, target: Target, objective: str, double_buffer: bool, rlimit: int) -> str:
    """The text that identifies one tiling problem (the layer name is not part of it)."""
    return repr((FORMAT, solver_version(), dataclasses.replace(g, name=""), target, objective,
                 double_buffer, rlimit))


def _path(folder: str | Path, key: str) -> Path:
    return Path(folder) / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def load(folder: str | Path, key: str) -> dict | None:
    """The fields of the cached `TilingResult` for `key` (`sizes` a `TileSizes`), or None."""
    try:
        entry = json.loads(_path(folder, key).read_text())
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        fields = dict(entry["result"])
        fields["sizes"] = TileSizes(*fields["sizes"])
        fields["counts"] = tuple(fields["counts"])
        return fields
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(folder: str | Path, key: str, result) -> None:
    """Save a proved `TilingResult` under `key` (atomically); unproved results are not stored."""
    if not result.proved_optimal:
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fields = dataclasses.asdict(result)
    fields["sizes"] = [result.sizes.h, result.sizes.w, result.sizes.c]
    fields["counts"] = list(result.counts)
    fields["from_cache"] = False
    text = json.dumps({"key": key, "result": fields}, sort_keys=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(temporary, _path(folder, key))
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
