"""Benchmarks: each figure is reported against a floor measured in the same run."""
