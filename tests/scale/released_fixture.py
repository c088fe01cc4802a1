"""A small CC-Neg release written by the tests, in the exact released layout, awkward cases included.

``ccneg_preprocessed.pt`` holds plain containers (``image_paths``, ``annotations``,
``num_ops``) with the authors' absolute path prefix, and the JPEG files sit in
``ccneg_images/cc3m_subset_images_extracted_final/<key>.jpg``. The awkward cases the release
really has, or that readers of it disagree on:

* commas in the negated caption (the release's loaders strip them before scoring);
* every ``long_every``-th row has a caption of more than 77 tokens whose negation falls past
  the cut: c and c' then read identically to a CLIP text tower, an exact tie;
* the top-level ``caption`` differs from ``json.caption`` on some rows (the loaders read
  ``json.caption``);
* a ``None`` subject.

``user_command`` runs a console script as a user types it (default flags, progress bars on).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.scale.image_server import generated_image

AUTHOR_PREFIX = "/workspace/datasets/cc3m/"
SUBDIR = "ccneg_images/cc3m_subset_images_extracted_final"
REPO = Path(__file__).resolve().parents[2]

#: (caption, subject, [(object, predicate)], chosen object, negative prompt, exclusion prompt)
SAMPLES = [
    ("a woman next to a table in the dining area", "woman", [("table", "next to"), ("dining area", "in the")],
     "table", "A woman, not next to a table, in the dining area.", "A woman in the dining area"),
    ("a flag on a dome", "flag", [("dome", "on a")], "dome", "A flag, not on a dome", "A flag"),
    ("a person on skis makes her way through the snow", "person", [("skis", "on"), ("snow", "through the")],
     "snow", "A person on skis without snow", "A person on skis"),
    ("jungle with a mountain in the distance", "jungle", [("mountain", "with a"), ("distance", "in the")],
     "mountain", "Jungle without a mountain in the distance.", "Jungle in the distance"),
    ("aerial view of a meteor over the clouds", "meteor", [("clouds", "over the")],
     "clouds", "Aerial view of a meteor with no clouds", "Aerial view of a meteor"),
    ("a dog sleeping on a couch", "dog", [("couch", "on a")], "couch", "a dog sleeping, not on a couch",
     "a dog sleeping"),
]

#: 102 one-token words: a caption starting with it is cut (at 77 tokens) before anything that follows
LONG_PREFIX = " ".join(["the old house by the river under a grey sky with tall trees and a small red boat"] * 6)


def write_release(folder: Path, rows: int = 24, missing_images: tuple[int, ...] = (), long_every: int = 0) -> dict:
    """Write ``rows`` samples; returns the dict saved (for comparing after a round trip).

    ``long_every``: every ``long_every``-th row (index % long_every == long_every - 1) gets a
    caption whose negation falls past the 77-token window (an exact tie for CLIP models).
    """
    import torch

    paths, annotations = [], []
    for index in range(rows):
        caption, subject, pairs, chosen, negative, exclusion = SAMPLES[index % len(SAMPLES)]
        key = f"{index:09d}"
        caption = f"{caption} {index}" if index >= len(SAMPLES) else caption
        if long_every and index % long_every == long_every - 1:
            caption, negative = f"{LONG_PREFIX} {caption}", f"{LONG_PREFIX}, {negative}"
        annotations.append({
            "json": {"caption": caption, "url": f"http://images.example/{key}.jpg", "key": key},
            # the loaders read json.caption; this copy differs in case on every third row
            "caption": caption.upper() if index % 3 == 2 else caption,
            "labels": "person,actor" if index % 2 else "landscape, sky",
            "MIDs": f"/m/0{index},/m/1{index}",
            "confidence_scores": "0.91,0.72",
            "sop_data": {
                "negative-prompt": negative,
                "exclusion-prompt": exclusion,
                "sop_chosen_object": chosen,
                "sop_decomposition": {
                    "subject": None if index == 7 else subject,
                    "object-predicate-pairs": [{"object": o, "predicate": p} for o, p in pairs],
                },
            },
        })
        paths.append(f"{AUTHOR_PREFIX}{SUBDIR}/{key}.jpg")
        if index not in missing_images:
            image = folder / SUBDIR / f"{key}.jpg"
            image.parent.mkdir(parents=True, exist_ok=True)
            image.write_bytes(generated_image(index, "jpg"))
    num_ops: dict[int, list[int]] = {}
    for index, annotation in enumerate(annotations):
        num_ops.setdefault(len(annotation["sop_data"]["sop_decomposition"]["object-predicate-pairs"]), []).append(index)
    data = {"image_paths": paths, "annotations": annotations, "num_ops": num_ops}
    torch.save(data, folder / "ccneg_preprocessed.pt")
    return data


def user_env() -> dict[str, str]:
    """The environment of a user's shell: offline, this checkout importable, no proxy for loopback."""
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def user_command(name: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run console script ``name`` (``ccneg-build``, ``ccneg-bench``) as a user types it.

    The installed script next to this interpreter is used; without an installed one (a
    source checkout), ``python -m`` of the same entry point.
    """
    script = Path(sys.executable).parent / name
    modules = {"ccneg-build": "ccneg_build.cli", "ccneg-bench": "ccneg_bench.cli", "ccneg-train": "ccneg_bench.train.cli"}
    command = [str(script)] if script.is_file() else [sys.executable, "-m", modules[name]]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=user_env(), cwd=REPO, timeout=timeout)
