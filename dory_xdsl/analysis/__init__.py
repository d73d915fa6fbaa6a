"""Analyses of the IR shared by passes, the lowering and the engines: the `qnn` interpreter
(`interpreter`), a fused layer op as a PULP-NN kernel call (`kernel_layers`), a tiled module as the
L3 planner's program (`l3_program`), and the execution of lowered loop nests' index arithmetic
(`index_eval`).

May import: the dialects (`dory_xdsl.dialects`), `dory_xdsl.tiling`, `dory_xdsl.semantics`, and the
top-level `errors`, `target`, `tensors`.
"""
