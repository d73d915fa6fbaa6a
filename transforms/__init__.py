"""dory-xdsl transforms (installed as dory_xdsl.transforms)."""
