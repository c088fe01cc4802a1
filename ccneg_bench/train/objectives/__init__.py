"""Training objectives: one :class:`~ccneg_bench.train.objectives.spec.LossSpec` per ``--loss``.

The registry (:mod:`ccneg_bench.train.objectives.registry`) maps each name to the module
attribute that holds its spec; the trainer, the early argument checks and ``ccneg-train --help``
read everything about a loss from there. The tensor math lives in :mod:`ccneg_bench.train.losses`
(pure functions, checked against an independent restatement); the modules here only say which
inputs a loss reads and how the trainer's batch maps onto those functions.
"""
