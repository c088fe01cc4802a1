"""The synthetic shapes world of the miniature reproduction (``benchmarks/mini_repro.py``).

:mod:`benchmarks.shapes.world` draws images whose captions have known truth and writes them
as a ccneg dataset folder; :mod:`benchmarks.shapes.audit` proves from the written files that
evaluation material never reaches training; :mod:`benchmarks.shapes.distractor_sets` holds the
sets of distractors compared (mined, verified, drawn by the labels) and grades them by the labels. It lives beside the benchmarks, not in the
packages: only the benchmarks and the tests use it, so the wheel does not ship it.
"""
