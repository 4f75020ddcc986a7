"""Benchmarks: one module per benchmark, each exposing ``run(**opts) -> dict`` and ``format``."""
