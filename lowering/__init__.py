"""C emission for GAP-8: the printer of the `dory`-level IR and the application templates."""
