"""Smoke tests of the benchmarks (small, synthetic)."""
