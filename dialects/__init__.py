"""dory-xdsl dialects (installed as dory_xdsl.dialects)."""
