"""The operator's inventory of every credential of every tenant (floor 3½: reads floor 3, feeds the API)."""
