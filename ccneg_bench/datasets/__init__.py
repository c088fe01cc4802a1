"""Dataset registry: a spec string -> :class:`~ccneg_bench.datasets.base.EvalDataset`.

Spec forms::

    PATH            a ccneg-build output folder (OUT/data/{split}-*.parquet), or a folder
                    holding the released ccneg_preprocessed.pt (auto-detected)
    released:PATH   the released CC-Neg folder, explicitly
    hf:ORG/NAME     a Hugging Face dataset in the ccneg record schema (also hf:/local/folder)

Importable (also by ``ccneg_bench.train``)::

    from ccneg_bench.datasets import load_eval_dataset
    ds = load_eval_dataset("ccneg-out", split="eval")
    ds.samples[0].caption, ds.images.read_refs(0, 4)
"""

from __future__ import annotations

import os

from ccneg_bench.datasets.base import EvalDataset, ImageTable, Sample


def load_eval_dataset(spec: str, split: str = "eval", **options: object) -> EvalDataset:
    """Load ``split`` of the dataset ``spec`` names (see module docstring)."""
    from ccneg_bench.datasets.ccneg_folder import is_ccneg_folder, load_ccneg_folder
    from ccneg_bench.datasets.released import is_released_folder, load_released

    if spec.startswith("hf:"):
        from ccneg_bench.datasets.hub import load_hub

        return load_hub(spec[3:], split=split)
    if spec.startswith("released:"):
        return load_released(spec[len("released:"):], split=split, **options)  # type: ignore[arg-type]
    if not os.path.exists(spec):
        raise ValueError(f"dataset {spec!r} not found (a ccneg-build folder, a released CC-Neg folder, or hf:ID)")
    if is_released_folder(spec):
        return load_released(spec, split=split, **options)  # type: ignore[arg-type]
    if is_ccneg_folder(spec):
        return load_ccneg_folder(spec, split=split)
    raise ValueError(
        f"{spec}: neither a ccneg-build folder (data/*.parquet) nor a released CC-Neg folder "
        "(ccneg_preprocessed.pt)"
    )


__all__ = ["EvalDataset", "ImageTable", "Sample", "load_eval_dataset"]
