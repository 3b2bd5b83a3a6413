"""Benchmarks with their baselines, run on demand (``python -m bench``), never in CI."""
