"""The build pipeline as a list of steps behind one protocol (see :mod:`ccneg_build.steps.base`).

``read`` (reader errors) -> ``images`` (``--images``) -> ``negate`` (the run's negator) ->
``verify`` (the shared filter); :mod:`ccneg_build.steps.registry` lists them in order and
:func:`ccneg_build.runner.process_batch` runs them over one shard. The visual check
(``--verify-visual``) is not among them: it runs at publish time, over all finished shards,
because it needs the object vocabulary of the whole dataset (see
:mod:`ccneg_build.visual.step`).
"""
