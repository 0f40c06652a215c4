"""aidflow simulation engine (SimPy + numpy); no file I/O."""
