"""A small CC-Neg release written by the tests, in the exact released layout.

``ccneg_preprocessed.pt`` holds plain containers (``image_paths``, ``annotations``,
``num_ops``) with the authors' absolute path prefix, and the JPEG files sit in
``ccneg_images/cc3m_subset_images_extracted_final/<key>.jpg``.
"""

from __future__ import annotations

from pathlib import Path

from tests.scale.image_server import generated_image

AUTHOR_PREFIX = "/workspace/datasets/cc3m/"
SUBDIR = "ccneg_images/cc3m_subset_images_extracted_final"

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


def write_release(folder: Path, rows: int = 24, missing_images: tuple[int, ...] = ()) -> dict:
    """Write ``rows`` samples; returns the dict saved (for comparing after a round trip)."""
    import torch

    paths, annotations = [], []
    for index in range(rows):
        caption, subject, pairs, chosen, negative, exclusion = SAMPLES[index % len(SAMPLES)]
        key = f"{index:09d}"
        caption = f"{caption} {index}" if index >= len(SAMPLES) else caption
        annotations.append({
            "json": {"caption": caption, "url": f"http://images.example/{key}.jpg", "key": key},
            "caption": caption,
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
