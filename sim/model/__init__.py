"""Domain processes of the engine, one module per process."""
