"""The command-line tools: `dory` (`cli`, with `compile` for `dory compile`), `dory-opt` (`opt`,
with the dialect/pass/target `registry`), and the one-line diagnostics of both (`diagnostics`).

May import: every other part of dory_xdsl; nothing imports the drivers.
"""
