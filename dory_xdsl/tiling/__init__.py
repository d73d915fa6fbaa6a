"""Tiling and memory planning, pure algorithms (no IR): one layer's geometry (`layer_geometry`), tile
enumeration and arithmetic (`tiles`, `tile_exprs`, `layer_dma`), the L1 tiling model (cost formulas,
exhaustive search, Z3 proof: `tiling_cost`, `tiling_search`, `tiling_model`, `z3_terms`; proved
results kept on disk: `tiling_cache`), the
offline L2 planner (`l2_planner`, `l2_exact`) and the L3 level (`l3_tiling`, `l3_tiling_proof`,
`l3_planner`, `l3_schedule`).

May import: `dory_xdsl.errors`, `dory_xdsl.target`, `dory_xdsl.semantics`, numpy, Z3. Nothing of xDSL.
"""
