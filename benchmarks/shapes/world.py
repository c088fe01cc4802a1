"""A procedurally drawn world of coloured shapes whose captions have known truth.

The miniature reproduction of CoN-CLIP (``benchmarks/mini_repro.py``) needs what CC-Neg has,
at a size a laptop trains in minutes: images, true relation captions ("a red circle left of
a blue square"), negated captions that are false for the image ("a red circle without a
blue square") and exclusion captions ("a red circle"). Here every image is drawn from a
scene we know, so the truth of any caption about it is known too: the ``labels`` column
lists the objects present, which lets a caller check whether a mined distractor really
makes the negated caption true.

The world is written as an ordinary ccneg dataset folder (``data/*.parquet`` in
:data:`ccneg_core.record.RECORD_SCHEMA`), so the miner, the trainer and ccneg-bench read it
like any other dataset.

So that a good score cannot come from memory or from a shortcut, the world is split by
*composition*: the unordered pairs of things are divided once, and every scene of an
evaluation pair ("red circle" with "blue square", in any relation and either order) appears
only in the eval splits. Training-side splits (``pretrain``, ``train``, ``train_pool``) never
show such a scene, so no eval caption, negated caption or (subject, relation, object)
combination is seen in training. Distractors for training and for evaluation come from two
disjoint pools (``train_pool`` and ``eval_pool``, drawn separately).
:func:`benchmarks.shapes.audit.audit_held_out` checks all of this on the written files.
"""

from __future__ import annotations

import io
import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from ccneg_build.publication import record_files
from ccneg_core.record import RECORD_SCHEMA, make_id
from ccneg_core.writer import atomic_output, atomic_write_text

COLORS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 200, 30),
    "purple": (150, 60, 190),
}
SHAPES = ("circle", "square", "triangle")
RELATIONS = ("left of", "right of", "above", "below")
#: the same picture described from the object's side: (a, left of, b) is (b, right of, a)
MIRROR = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}

#: splits a model learns from (pretraining, fine-tuning, training distractors) ...
TRAINING_SPLITS = ("pretrain", "train", "train_pool")
#: ... and splits only evaluation reads (samples, and the pool their distractors come from)
EVAL_SPLITS = ("eval", "eval_pool")
#: share of the unordered pairs of things whose scenes are held out for evaluation
EVAL_PAIR_FRACTION = 0.2

#: (template, negation_cue, negation_type); {s} is the subject, {p} the predicate, {o} the object
NEGATION_TEMPLATES = (
    ("a {s} without a {o}", "without", "without"),
    ("a {s} with no {o}", "no", "absence"),
    ("a {s}, not {p} a {o}", "not", "relation"),
)

#: The tiny open_clip architecture the miniature reproduction trains (32 px images).
TINY_CLIP_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@dataclass(frozen=True)
class Thing:
    """One coloured shape of a scene."""

    color: str
    shape: str

    @property
    def name(self) -> str:
        return f"{self.color} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """A subject alone, or two distinct things and the relation of the subject to the object."""

    subject: Thing
    object: Thing | None = None
    relation: str | None = None


Pair = tuple[str, str]  # two thing names, sorted: the scene's composition up to order and relation


def all_things() -> list[Thing]:
    return [Thing(c, s) for c in COLORS for s in SHAPES]


def pair_of(a: str, b: str) -> Pair:
    """The unordered pair of two thing names (the key compositions are held out by)."""
    return (a, b) if a <= b else (b, a)


def split_pairs(seed: int, eval_fraction: float = EVAL_PAIR_FRACTION) -> tuple[list[Pair], list[Pair]]:
    """Divide the unordered pairs of things into (training pairs, evaluation pairs).

    Seeded and independent of every other random draw. The evaluation pairs are spread over
    the things (each thing in at most four of them) so that every thing keeps most of its
    partners for training: the test is new combinations of known things, not new things.
    """
    names = [t.name for t in all_things()]
    pairs = [pair_of(a, b) for a, b in itertools.combinations(names, 2)]
    n_eval = max(1, round(eval_fraction * len(pairs)))
    rng = random.Random(f"shapes-pairs-{seed}")
    while True:
        held = set(rng.sample(pairs, n_eval))
        degree = {n: sum(n in p for p in held) for n in names}
        if max(degree.values()) <= 4:
            return [p for p in pairs if p not in held], [p for p in pairs if p in held]


def random_scene(rng: random.Random, single: bool = False, pairs: list[Pair] | None = None) -> Scene:
    """Draw a scene: one thing alone, or two distinct things from ``pairs`` (default: any)
    in random order and relation."""
    things = {t.name: t for t in all_things()}
    if single:
        return Scene(rng.choice(list(things.values())))
    if pairs is None:
        subject, obj = rng.sample(list(things.values()), 2)
    else:
        first, second = rng.choice(pairs)
        subject, obj = (things[first], things[second]) if rng.random() < 0.5 else (things[second], things[first])
    return Scene(subject, obj, rng.choice(RELATIONS))


def _draw_thing(draw: ImageDraw.ImageDraw, thing: Thing, cx: float, cy: float, r: float) -> None:
    fill = COLORS[thing.color]
    box = (cx - r, cy - r, cx + r, cy + r)
    if thing.shape == "circle":
        draw.ellipse(box, fill=fill)
    elif thing.shape == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)


def draw_scene(scene: Scene, rng: random.Random, size: int = 32) -> Image.Image:
    """Render a scene: the subject sits on the stated side of the object, with jitter."""
    image = Image.new("RGB", (size, size), tuple(rng.randint(225, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    r = size * rng.uniform(0.13, 0.18)
    near, far = size * 0.27, size * 0.73
    jitter = lambda: rng.uniform(-size * 0.06, size * 0.06)  # noqa: E731
    across = rng.uniform(size * 0.3, size * 0.7)
    if scene.object is None:
        _draw_thing(draw, scene.subject, rng.uniform(near, far), rng.uniform(near, far), r)
        return image
    if scene.relation in ("left of", "right of"):
        first, second = (near, far) if scene.relation == "left of" else (far, near)
        positions = ((first + jitter(), across + jitter()), (second + jitter(), across + jitter()))
    else:
        first, second = (near, far) if scene.relation == "above" else (far, near)
        positions = ((across + jitter(), first + jitter()), (across + jitter(), second + jitter()))
    _draw_thing(draw, scene.subject, *positions[0], r)
    _draw_thing(draw, scene.object, *positions[1], r)
    return image


def scene_record(scene: Scene, image: Image.Image, row: int, split: str, rng: random.Random) -> dict:
    """One dataset row in the record schema, with a negated caption of known (false) truth.

    A single-thing scene has only a caption ("a red circle", or the bare phrase "red circle"
    as alt texts often are): it is pretraining or pool material, not a negation sample.
    """
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    if scene.object is None:
        return {
            "id": make_id("shapes", row, scene.subject.name), "source": "shapes", "source_row": row, "url": None,
            "image": {"bytes": buffer.getvalue(), "path": f"shapes_{row:06d}.png"}, "image_sha256": None,
            "caption": rng.choice((f"a {scene.subject.name}", scene.subject.name)), "negated_caption": None, "exclusion_caption": None,
            "subject": scene.subject.name, "relations": [], "num_relations": 0, "negated_object": None,
            "negated_predicate": None, "negation_cue": None, "negation_type": None, "labels": [scene.subject.name],
            "generator": {"backend": "shapes", "model": "procedural", "version": "1", "fallback_from": None},
            "prompt_version": None, "split": split,
        }
    caption = f"a {scene.subject.name} {scene.relation} a {scene.object.name}"
    template, cue, kind = rng.choice(NEGATION_TEMPLATES)
    negated = template.format(s=scene.subject.name, p=scene.relation, o=scene.object.name)
    return {
        "id": make_id("shapes", row, caption),
        "source": "shapes",
        "source_row": row,
        "url": None,
        "image": {"bytes": buffer.getvalue(), "path": f"shapes_{row:06d}.png"},
        "image_sha256": None,
        "caption": caption,
        "negated_caption": negated,
        "exclusion_caption": f"a {scene.subject.name}",
        "subject": scene.subject.name,
        "relations": [{"object": scene.object.name, "predicate": scene.relation}],
        "num_relations": 1,
        "negated_object": scene.object.name,
        "negated_predicate": scene.relation,
        "negation_cue": cue,
        "negation_type": kind,
        "labels": [scene.subject.name, scene.object.name],
        "generator": {"backend": "shapes", "model": "procedural", "version": "1", "fallback_from": None},
        "prompt_version": None,
        "split": split,
    }


def write_shapes_dataset(
    out_dir: Path, n_train: int, n_eval: int, seed: int = 0, image_size: int = 32,
    n_pretrain: int = 0, n_train_pool: int = 0, n_eval_pool: int = 0, single_fraction: float = 0.4,
    eval_pair_fraction: float = EVAL_PAIR_FRACTION,
) -> Path:
    """Write a shapes world as a ccneg dataset folder (``data/{split}-00000-of-00001.parquet``,
    listed in ``manifest.json``).

    ``train`` and ``eval`` hold negation samples (two-thing scenes), ``train`` from the
    training pairs and ``eval`` from the held-out pairs (:func:`split_pairs`). The optional
    ``pretrain`` split (captions only, for pretraining a CLIP) and ``train_pool`` split
    (candidate distractor images for training, like MS-COCO in the paper) use training pairs
    only; ``eval_pool`` (candidate distractors for evaluation) is drawn separately from every
    pair. The pools and ``pretrain`` mix in single-thing scenes (``single_fraction`` of them),
    as a web-scale corpus would. ``world.json`` records the pairs.
    """
    rng = random.Random(seed)
    train_pairs, eval_pairs = split_pairs(seed, eval_pair_fraction)
    plan = [("pretrain", n_pretrain, single_fraction, train_pairs),
            ("train_pool", n_train_pool, single_fraction, train_pairs),
            ("train", n_train, 0.0, train_pairs),
            ("eval", n_eval, 0.0, eval_pairs),
            ("eval_pool", n_eval_pool, single_fraction, None)]
    data_dir = Path(out_dir) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    written = []
    row = 0
    for split, count, singles, pairs in plan:
        if count == 0:
            continue
        rows = []
        for _ in range(count):
            scene = random_scene(rng, single=rng.random() < singles, pairs=pairs)
            rows.append(scene_record(scene, draw_scene(scene, rng, image_size), row, split, rng))
            row += 1
        with atomic_output(data_dir / f"{split}-00000-of-00001.parquet") as tmp:
            pq.write_table(pa.Table.from_pylist(rows, schema=RECORD_SCHEMA), tmp, row_group_size=256)
        written.append(f"data/{split}-00000-of-00001.parquet")
    record_files(Path(out_dir), written)  # the readers check a dataset folder against its manifest
    world = {"seed": seed, "train_pairs": train_pairs, "eval_pairs": eval_pairs,
             "training_splits": list(TRAINING_SPLITS), "eval_splits": list(EVAL_SPLITS)}
    atomic_write_text(Path(out_dir) / "world.json", json.dumps(world, indent=1))
    return Path(out_dir)


def write_tiny_clip_config(path: Path, image_size: int = 32) -> Path:
    """Write the tiny open_clip model-config JSON used by the reproduction and the tests."""
    config = json.loads(json.dumps(TINY_CLIP_CONFIG))
    config["vision_cfg"]["image_size"] = image_size
    path = Path(path)
    atomic_write_text(path, json.dumps(config, indent=2))
    return path
