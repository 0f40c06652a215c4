"""aidflow supply graph (networkx)."""
