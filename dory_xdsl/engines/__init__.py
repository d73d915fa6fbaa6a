"""Engines of `dory run`: each runs an imported `qnn` module on integer inputs and returns its
outputs and every layer's output. `registry` names them (reference interpreter, `tiled_engine`
executing the lowered IR, `host_engine` building the generated C with `host_build` against the
host runtime in `runtime/`).

May import: `dory_xdsl.lowering`, the transforms, the analyses and everything below them; never
the golden data, generators or drivers.
"""
