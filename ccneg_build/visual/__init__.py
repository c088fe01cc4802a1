"""``--verify-visual``: is the object a row negates visible in its image?

CC3M captions are noisy alt text: the object a negation removes ("not on a *dome*") may not
be in the picture at all, and then the pair (image, negated caption) teaches nothing. This
step scores every accepted row that has an image and rejects it as ``object_not_visible``
below a threshold.

* the flags, the settings object and the reason codes are :mod:`ccneg_build.options.visual`;
* :mod:`.vocabulary`  the dataset's own object vocabulary and each row's distractor objects;
* the scorers (CLIP-like models, open-vocabulary detectors) are found through
  :mod:`ccneg_core.presence`, which also defines what the check means;
* :mod:`.cache`       a score cache that survives reruns and ``--overwrite``;
* :mod:`.step`        the pass over finished shards and the store view that publishing reads.

It runs after every shard is negated and filtered, before publishing, because the
candidates a CLIP-like model chooses among come from the whole dataset's vocabulary.
"""
