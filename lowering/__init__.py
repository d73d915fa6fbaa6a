"""dory-xdsl lowering (installed as dory_xdsl.lowering)."""
