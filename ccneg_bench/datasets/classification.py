"""Zero-shot classification data: ``imagefolder:DIR`` and the CIFAR-10/100 python folders.

``imagefolder:DIR`` follows torchvision's ``ImageFolder``: one sub-folder per class, classes in
sorted folder-name order, the folder name is the class name, image files found recursively in
sorted order. ``cifar10:DIR`` / ``cifar100:DIR`` (also ``cifar:DIR``, detected) read the
official python-version pickles safely (see :mod:`~ccneg_bench.datasets.cifar_pickle`); the
``eval`` split is CIFAR's test set. Both default to the tasks ``zeroshot`` and
``zeroshot-negated``; prompts come from :mod:`~ccneg_bench.datasets.templates`.
"""

from __future__ import annotations

import os

from ccneg_bench.datasets.base import DatasetOptions, EvalDataset, Sample
from ccneg_bench.datasets.image_files import FileImageTable
from ccneg_bench.datasets.templates import ClassPrompts, Templates
from ccneg_bench.datasets.cifar_pickle import ArrayImageTable, read_cifar

#: the file types torchvision's ImageFolder accepts
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
DEFAULT_TASKS = ("zeroshot", "zeroshot-negated")


def load_imagefolder(path: str, split: str = "eval", templates: Templates | None = None,
                     negated_templates: Templates | None = None) -> EvalDataset:
    """One class per sub-folder of ``path``."""
    if not os.path.isdir(path):
        raise ValueError(f"imagefolder:{path}: no such folder (give a folder with one sub-folder per class)")
    classes = sorted(e.name for e in os.scandir(path) if e.is_dir())
    if not classes:
        raise ValueError(f"{path}: no class sub-folders (imagefolder expects DIR/<class>/<image>)")
    paths, samples = [], []
    for label, name in enumerate(classes):
        for folder, subfolders, files in sorted(os.walk(os.path.join(path, name), followlinks=True)):
            subfolders.sort()
            for file in sorted(files):
                if file.lower().endswith(IMAGE_EXTENSIONS):
                    relative = os.path.relpath(os.path.join(folder, file), path)
                    samples.append(Sample(id=relative, caption="", negated_caption="", label=label))
                    paths.append(os.path.join(folder, file))
    if not samples:
        raise ValueError(f"{path}: the class folders hold no images ({', '.join(IMAGE_EXTENSIONS)})")
    dataset = EvalDataset(spec=f"imagefolder:{os.path.abspath(path)}", split=split, samples=samples,
                          images=FileImageTable(paths, [s.id for s in samples]),
                          name=f"imagefolder/{os.path.basename(os.path.normpath(path))}", default_tasks=DEFAULT_TASKS,
                          classes=ClassPrompts.build(classes, templates, negated_templates), kind="classification")
    dataset.attach_distractors(None)
    return dataset


def load_cifar(path: str, split: str = "eval", templates: Templates | None = None,
               negated_templates: Templates | None = None, expect: str | None = None) -> EvalDataset:
    """CIFAR-10 or CIFAR-100 (``expect`` checks which one the folder holds)."""
    if not os.path.isdir(path):
        raise ValueError(f"{expect or 'cifar'}:{path}: no such folder")
    data = read_cifar(path, "test" if split in ("eval", "test") else split)
    if expect and data.name != expect:
        raise ValueError(f"{path}: holds {data.name}, not {expect}")
    ids = [f"{data.name}:{split}:{i}" for i in range(len(data.labels))]
    n_classes = len(data.class_names)
    samples = [Sample(id=i, caption="", negated_caption="", label=label, image_row=row)
               for row, (i, label) in enumerate(zip(ids, data.labels)) if 0 <= label < n_classes]
    rejected = [{"id": i, "code": "bad_label", "detail": f"image {row}: label {label} is not a class index 0..{n_classes - 1}"}
                for row, (i, label) in enumerate(zip(ids, data.labels)) if not 0 <= label < n_classes]
    dataset = EvalDataset(rejected=rejected, spec=f"{data.name}:{os.path.abspath(path)}", split=split, samples=samples,
                          images=ArrayImageTable(data.pixels, ids, data.files), name=data.name,
                          default_tasks=DEFAULT_TASKS,
                          classes=ClassPrompts.build(data.class_names, templates, negated_templates),
                          kind="classification")
    dataset.attach_distractors(None)
    return dataset


def open_imagefolder(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``imagefolder:DIR`` (the dataset registry's entry)."""
    return load_imagefolder(path, split=split, templates=options.templates, negated_templates=options.negated_templates)


def open_cifar(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``cifar:DIR``: CIFAR-10 or CIFAR-100, whichever the folder holds."""
    return load_cifar(path, split=split, templates=options.templates, negated_templates=options.negated_templates)


def open_cifar10(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``cifar10:DIR``: refused unless the folder holds CIFAR-10."""
    return load_cifar(path, split=split, templates=options.templates, negated_templates=options.negated_templates,
                      expect="cifar10")


def open_cifar100(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``cifar100:DIR``: refused unless the folder holds CIFAR-100."""
    return load_cifar(path, split=split, templates=options.templates, negated_templates=options.negated_templates,
                      expect="cifar100")
