"""Benchmarks for todochat's agent memory and turn (issue 4): `python -m bench [--quick]`.

Every figure is measured in the run that prints it, beside a baseline measured in the same
run, because the machines are noisy: ratios and percentiles, not single times.
"""
