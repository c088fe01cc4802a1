"""Speed, scale and reproduction scripts (run from a source checkout; not part of the wheel).

Each script runs as ``python benchmarks/NAME.py`` and prints ratios against a baseline
measured in the same run; :mod:`benchmarks.shapes` is the synthetic world they train on.
"""
