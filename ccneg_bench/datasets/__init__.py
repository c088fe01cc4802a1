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

from ccneg_bench.datasets.base import DatasetOptions, EvalDataset
from ccneg_bench.datasets.ccneg_folder import is_ccneg_folder, load_ccneg_folder
from ccneg_bench.datasets.released import is_released_folder, load_released
from ccneg_bench.datasets.templates import read_templates
from ccneg_core.registry import Registry

#: spec prefix -> "module:function(path, split, options) -> EvalDataset"; add a dataset kind
#: with one module and one line here. ``--dataset KIND:PATH`` is read by the entry.
DATASETS = Registry("dataset kind", {
    "released": "ccneg_bench.datasets.released:open_dataset",
    "hf": "ccneg_bench.datasets.hub:open_dataset",
    "negbench": "ccneg_bench.datasets.negbench:open_dataset",
    "sugarcrepe": "ccneg_bench.datasets.sugarcrepe:open_dataset",
    "crepe": "ccneg_bench.datasets.crepe:open_dataset",
    "negrefcocog": "ccneg_bench.datasets.negrefcocog:open_dataset",
    "imagefolder": "ccneg_bench.datasets.classification:open_imagefolder",
    "cifar10": "ccneg_bench.datasets.classification:open_cifar10",
    "cifar100": "ccneg_bench.datasets.classification:open_cifar100",
    "cifar": "ccneg_bench.datasets.classification:open_cifar",
})

#: kinds whose PATH is a file or folder of this machine (``hf:`` also takes a Hub id)
_LOCAL_KINDS_EXCEPT = frozenset({"hf"})


def load_eval_dataset(spec: str, split: str = "eval", **options: object) -> EvalDataset:
    """Load ``split`` of the dataset ``spec`` names (see module docstring).

    ``KIND:PATH`` goes to the registered kind; a bare path is a ccneg-build folder or a released
    CC-Neg folder, told apart by their files. Keyword options are :class:`DatasetOptions` fields.
    """
    settings = _options(options)
    kind, sep, path = spec.partition(":")
    if sep and kind in DATASETS:
        if not path:
            raise ValueError(f"dataset {spec!r}: give a path after {kind}:")
        if kind not in _LOCAL_KINDS_EXCEPT:
            path = os.path.expanduser(path)
        return DATASETS.load(kind)(path, split, settings)
    if not os.path.exists(spec):
        raise ValueError(f"dataset {spec!r} not found (a ccneg-build folder, a released CC-Neg folder, "
                         f"or KIND:PATH with KIND one of {', '.join(DATASETS)})")
    if is_released_folder(spec):
        return load_released(spec, split=split, eval_size=settings.eval_size)
    if is_ccneg_folder(spec):
        return load_ccneg_folder(spec, split=split)
    raise ValueError(
        f"{spec}: neither a ccneg-build folder (data/*.parquet) nor a released CC-Neg folder "
        "(ccneg_preprocessed.pt)"
    )


def _options(options: dict[str, object]) -> DatasetOptions:
    """Keyword options as :class:`DatasetOptions`: the image root checked, template files read."""
    image_root = options.get("image_root")
    image_root = os.path.expanduser(str(image_root)) if image_root else None
    if image_root is not None and not os.path.isdir(image_root):
        raise ValueError(f"--image-root {image_root}: no such folder")
    prompts = {}
    for key, flag in (("templates", "--templates"), ("negated_templates", "--negated-templates")):
        value = options.get(key)
        prompts[key] = read_templates(os.path.expanduser(value), flag) if isinstance(value, (str, os.PathLike)) else value
    eval_size = options.get("eval_size")
    return DatasetOptions(image_root=image_root, eval_size=int(eval_size) if eval_size is not None else None, **prompts)
