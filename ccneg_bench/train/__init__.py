"""ccneg-train: CoN-CLIP (and other recipes') fine-tuning of open_clip models (``ccneg-train --help``).

Modules, in the order data flows through them:

* :mod:`~ccneg_bench.mining`             distractor images I' per sample (``mine-distractors``; shared with bench)
* :mod:`~ccneg_bench.train.sources`      which rows ``--data`` names: a ccneg folder or a NegBench MCQ file
* :mod:`~ccneg_bench.train.data`         training rows (I, I', c, c'), resumable step order
* :mod:`~ccneg_bench.train.mcq_data`     NegBench-style multiple-choice rows
* :mod:`~ccneg_bench.train.model`        the trainable open_clip model (via ccneg-bench's registry)
* :mod:`~ccneg_bench.train.trainable`    ``--trainable``: which parameters learn
* :mod:`~ccneg_bench.train.cache`        frozen-tower feature cache
* :mod:`~ccneg_bench.train.objectives`   the loss registry: one ``LossSpec`` per ``--loss``
* :mod:`~ccneg_bench.train.losses`       ``conclip_loss``, ``negclip_loss``, ``clip_loss``, ``mcq_loss`` (pure functions)
* :mod:`~ccneg_bench.train.distributed`  torchrun process groups, gathering with gradients
* :mod:`~ccneg_bench.train.loop`         the training loop (``train(TrainConfig(...))``)
* :mod:`~ccneg_bench.train.checkpoint`   atomic checkpoints loaded with ``weights_only=True``
* :mod:`~ccneg_bench.train.evaluation`   periodic evaluation through ccneg-bench
* :mod:`~ccneg_bench.train.export`       safetensors + open_clip config, ``push_to_hub``
* :mod:`~ccneg_bench.train.logs`         JSONL, TensorBoard, Weights & Biases
* :mod:`~ccneg_bench.train.cli`          the command line

Python use::

    from ccneg_bench.train.config import TrainConfig
    from ccneg_bench.train.loop import train
    summary = train(TrainConfig(model="open_clip:ViT-B-32", pretrained="openai", data="ccneg-out", out="runs/b32"))
"""
