"""The on-disk cache of proved tilings: same answer as solving, keyed by the whole problem."""

from __future__ import annotations

from pathlib import Path

from dory_xdsl.tiling.layer_geometry import LayerGeometry
from dory_xdsl.target import GAP8
from dory_xdsl.tiling.tiling_cache import problem_key
from dory_xdsl.tiling.tiling_model import clear_cache, tile_layer

DW = LayerGeometry("depthwise", 10, 10, 12, 12, 3, 3, (2, 2), (0, 0, 1, 1), requant_bits=32, name="dw")
TARGET = GAP8.with_budget(l1_bytes=1200)


def _answer(r) -> tuple:
    return (r.sizes, r.counts, r.l1_bytes, r.objective, r.objective_value, r.cycles, r.proved_optimal,
            r.single_tile, r.search_space, r.proof_space, r.z3_work)


def test_a_cached_result_equals_the_solved_one(tmp_path: Path) -> None:
    clear_cache()
    solved = tile_layer(DW, TARGET, cache_dir=str(tmp_path))
    assert solved.proved_optimal and not solved.from_cache
    assert len(list(tmp_path.glob("*.json"))) == 1
    clear_cache()  # a new process: only the disk remains
    cached = tile_layer(DW, TARGET, cache_dir=str(tmp_path))
    assert cached.from_cache and _answer(cached) == _answer(solved)
    clear_cache()
    renamed = LayerGeometry("depthwise", 10, 10, 12, 12, 3, 3, (2, 2), (0, 0, 1, 1), requant_bits=32, name="other")
    assert tile_layer(renamed, TARGET, cache_dir=str(tmp_path)).from_cache  # the name is not part of the problem


def test_every_part_of_the_problem_is_in_the_key() -> None:
    base = problem_key(DW, TARGET, "cost", True, 1000)
    others = [
        problem_key(LayerGeometry("depthwise", 10, 10, 12, 12, 3, 3, (1, 1), (0, 0, 1, 1), requant_bits=32),
                    TARGET, "cost", True, 1000),
        problem_key(DW, GAP8.with_budget(l1_bytes=1300), "cost", True, 1000),
        problem_key(DW, TARGET, "dory", True, 1000),
        problem_key(DW, TARGET, "cost", False, 1000),
        problem_key(DW, TARGET, "cost", True, 2000),
    ]
    assert len({base, *others}) == 6


def test_corrupt_or_foreign_entries_are_misses(tmp_path: Path) -> None:
    clear_cache()
    solved = tile_layer(DW, TARGET, cache_dir=str(tmp_path))
    (entry,) = tmp_path.glob("*.json")
    for text in ("{not json", '{"key": "another problem", "result": {}}', "[]"):
        entry.write_text(text)
        clear_cache()
        again = tile_layer(DW, TARGET, cache_dir=str(tmp_path))
        assert not again.from_cache and _answer(again) == _answer(solved)


def test_unproved_results_are_not_stored(tmp_path: Path) -> None:
    clear_cache()
    starved = tile_layer(DW, TARGET, rlimit=200, cache_dir=str(tmp_path))
    assert not starved.proved_optimal
    assert not list(tmp_path.glob("*.json"))
