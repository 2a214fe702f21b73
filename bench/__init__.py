"""Benchmarks: runnable scripts that print their figures and a ratio against a baseline measured in the same
run. ``python -m bench`` runs them all."""
