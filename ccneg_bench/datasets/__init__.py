"""Dataset registry: a spec string -> :class:`~ccneg_bench.datasets.base.EvalDataset`.

Spec forms::

    PATH            a ccneg-build output folder (OUT/data/{split}-*.parquet), or a folder
                    holding the released ccneg_preprocessed.pt (auto-detected)
    released:PATH   the released CC-Neg folder, explicitly
    hf:ORG/NAME     a Hugging Face dataset in the ccneg record schema (also hf:/local/folder)

    negbench:FILE.csv   a NegBench MCQ-Neg, binary MCQ, Retrieval or Retrieval-Neg file
    sugarcrepe:DIR      the SugarCREPE JSON files in DIR (images in DIR/val2017 or image_root)
    crepe:FILE.csv      a CREPE negate file (Visual Genome images under image_root)
    negrefcocog:FILE.json   NegationCLIP's NegRefCOCOg (COCO train2014 images under image_root)
    imagefolder:DIR     one sub-folder per class (zero-shot classification)
    cifar10:DIR, cifar100:DIR, cifar:DIR   CIFAR's python-version folder

Options (keyword arguments) a kind does not use are ignored: ``image_root`` (benchmark files),
``templates`` / ``negated_templates`` (classification), ``eval_size`` (released CC-Neg).

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

    benchmark = _load_benchmark(spec, split, options)
    if benchmark is not None:
        return benchmark
    options = {k: v for k, v in options.items() if k == "eval_size" and v is not None}
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


#: spec prefixes of the public benchmarks (see the module docstring)
BENCHMARK_KINDS = ("negbench", "sugarcrepe", "crepe", "negrefcocog", "imagefolder", "cifar10", "cifar100", "cifar")


def _load_benchmark(spec: str, split: str, options: dict[str, object]) -> EvalDataset | None:
    kind, sep, path = spec.partition(":")
    if not sep or kind not in BENCHMARK_KINDS:
        return None
    if not path:
        raise ValueError(f"dataset {spec!r}: give a path after {kind}:")
    path = os.path.expanduser(path)
    image_root = options.get("image_root")
    image_root = os.path.expanduser(str(image_root)) if image_root else None
    if image_root is not None and not os.path.isdir(image_root):
        raise ValueError(f"--image-root {image_root}: no such folder")
    from ccneg_bench.datasets.templates import read_templates

    prompts = {}
    for key, flag in (("templates", "--templates"), ("negated_templates", "--negated-templates")):
        value = options.get(key)
        prompts[key] = read_templates(os.path.expanduser(value), flag) if isinstance(value, (str, os.PathLike)) else value
    if kind == "negbench":
        from ccneg_bench.datasets.negbench import load_negbench

        return load_negbench(path, image_root=image_root, split=split)
    if kind == "sugarcrepe":
        from ccneg_bench.datasets.sugarcrepe import load_sugarcrepe

        return load_sugarcrepe(path, image_root=image_root, split=split)
    if kind == "crepe":
        from ccneg_bench.datasets.crepe import load_crepe

        return load_crepe(path, image_root=image_root, split=split)
    if kind == "negrefcocog":
        from ccneg_bench.datasets.negrefcocog import load_negrefcocog

        return load_negrefcocog(path, image_root=image_root, split=split)
    from ccneg_bench.datasets.classification import load_cifar, load_imagefolder

    if kind == "imagefolder":
        return load_imagefolder(path, split=split, **prompts)  # type: ignore[arg-type]
    return load_cifar(path, split=split, expect=None if kind == "cifar" else kind, **prompts)  # type: ignore[arg-type]


__all__ = ["EvalDataset", "ImageTable", "Sample", "load_eval_dataset", "BENCHMARK_KINDS"]
