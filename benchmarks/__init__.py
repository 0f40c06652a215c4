"""Benchmarks of aidflow (``make bench``): pytest-benchmark suites, workloads and the plain-SimPy baseline."""
