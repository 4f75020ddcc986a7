"""Benchmarks of the harness itself: one module per benchmark, each with ``run`` and ``format``."""
