"""Models: everything ccneg scores or fine-tunes is a ``ModelAdapter`` named by a ``KIND:BODY`` spec.

* :mod:`.registry`   the one table of spec kinds (``MODEL_KINDS``) and what reads it: ``load_model``,
  ``check_model``, ``resolve_pretrained``, ``model_fingerprint``, ``model_notes``, the ``--help`` text;
* :mod:`.kind`       ``ModelKind``: loader, argument check, content identity, default ``--pretrained``,
  notes and help of one kind;
* :mod:`.open_clip_kind`, :mod:`.hf_kind`, :mod:`.conclip_kind`, :mod:`.text_kind`   the built-in
  kinds (torch-free), whose adapters are :mod:`.open_clip_models`, :mod:`.hf`, :mod:`.conclip` and
  :mod:`.text_baseline`;
* :mod:`.base`       ``ModelAdapter``, what the feature encoder and the trainer see of a model;
* :mod:`.lazy`       ``LazyModel``, built only when a feature is missing from the cache;
* :mod:`.weights`    content keys of weights and the offline download check; :mod:`.checkpoints`
  reads weights files without unpickling code.
"""
