"""``ccneg-build tour-inputs DIR``: the starting files of the quick tour (docs/tour.md), offline.

The embedded CC3M sample has captions but no images, and every real model lives on the Hub, so
a newcomer could not try ``ccneg-bench`` or ``ccneg-train`` without a download. This writes
what the tour needs from files the package ships:

* ``DIR/photos.parquet``: 32 views cut from ten photos in the public domain or under CC0
  (``data/tour/``, credits in ``CREDITS.md``), each with a caption written by hand; columns ``caption``, ``image``
  (the Hugging Face ``{bytes, path}`` struct, JPEG) and ``photo``. It is an ordinary
  ``ccneg-build`` input: ``--images column --image-column image`` keeps each view with its row.
* ``DIR/tiny-clip.json``: an open_clip model config small enough to train on a CPU in seconds;
  ``open_clip:DIR/tiny-clip.json`` builds it with random weights (a fixed seed).
* ``DIR/CREDITS.md``: where each photo comes from and its terms.

The output is the same on every run (the views are cut and encoded deterministically), so
running it again rewrites identical files.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

import pyarrow as pa

from ccneg_core.argparsing import OneLineParser
from ccneg_core.writer import atomic_write_table, atomic_write_text

#: the view's longest side in pixels: enough for the report page, small for the Parquet file
VIEW_SIDE = 160
JPEG_QUALITY = 85

#: A CLIP of a few million parameters (most of them the 49,408-token embedding, which lets
#: open_clip's own tokenizer run offline). QuickGELU, as OpenAI's CLIP uses.
TOUR_MODEL_CONFIG = {
    "embed_dim": 64,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}

PHOTOS_FILE, MODEL_FILE, CREDITS_FILE = "photos.parquet", "tiny-clip.json", "CREDITS.md"

SCHEMA = pa.schema([
    ("caption", pa.string()),
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("photo", pa.string()),
])


@dataclass(frozen=True)
class View:
    """A region of a shipped photo (fractions of its width and height) and its caption."""

    photo: str
    box: tuple[float, float, float, float]
    caption: str


def _data():  # a Traversable: the files may sit in a wheel, not on disk
    return resources.files("ccneg_build") / "data" / "tour"


def tour_views() -> list[View]:
    """Every view of ``data/tour/views.tsv``, in file order."""
    text = (_data() / "views.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    return [View(r["photo"], (float(r["left"]), float(r["top"]), float(r["right"]), float(r["bottom"])), r["caption"])
            for r in rows]


def view_jpeg(view: View) -> bytes:
    """Cut the view out of its photo, shrink it to :data:`VIEW_SIDE` and encode it as JPEG."""
    from PIL import Image

    with Image.open(io.BytesIO((_data() / view.photo).read_bytes())) as photo:
        photo = photo.convert("RGB")
        width, height = photo.size
        left, top, right, bottom = view.box
        crop = photo.crop((round(left * width), round(top * height), round(right * width), round(bottom * height)))
    crop.thumbnail((VIEW_SIDE, VIEW_SIDE), Image.LANCZOS)
    buffer = io.BytesIO()
    crop.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def photos_table(views: Sequence[View]) -> pa.Table:
    """The tour's input table: caption, image struct (JPEG bytes, a file name) and source photo."""
    rows = []
    for number, view in enumerate(views):
        name = f"{Path(view.photo).stem}-{number:02d}.jpg"
        rows.append({"caption": view.caption, "image": {"bytes": view_jpeg(view), "path": name}, "photo": view.photo})
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def write_tour_inputs(out: Path) -> dict[str, Path]:
    """Write photos.parquet, tiny-clip.json and CREDITS.md into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"photos": out / PHOTOS_FILE, "model": out / MODEL_FILE, "credits": out / CREDITS_FILE}
    atomic_write_table(paths["photos"], photos_table(tour_views()))
    atomic_write_text(paths["model"], json.dumps(TOUR_MODEL_CONFIG, indent=2) + "\n")
    atomic_write_text(paths["credits"], (_data() / CREDITS_FILE).read_text(encoding="utf-8"))
    return paths


def main(argv: Sequence[str]) -> int:
    """``ccneg-build tour-inputs DIR``."""
    parser = OneLineParser(
        prog="ccneg-build tour-inputs",
        description="Write the quick tour's inputs into DIR: photos.parquet (32 captioned views of ten "
                    "public-domain or CC0 photos), tiny-clip.json (a tiny open_clip config, random weights) "
                    "and CREDITS.md. Offline; see docs/tour.md for the commands that follow.",
    )
    parser.add_argument("dir", metavar="DIR", help="folder to write into (created if missing)")
    args = parser.parse_args(list(argv))
    out = Path(args.dir)
    if out.exists() and not out.is_dir():
        print(f"ccneg-build tour-inputs: error: {out} is a file; give a folder (new or existing)", file=sys.stderr)
        return 2
    try:
        paths = write_tour_inputs(out)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"ccneg-build tour-inputs: error: cannot write into {out}: {reason}", file=sys.stderr)
        return 2
    views = tour_views()
    print(f"{paths['photos']}  {len(views)} captioned views of {len({v.photo for v in views})} photos "
          f"(credits: {paths['credits']})")
    print(f"{paths['model']}  a tiny open_clip architecture (use as open_clip:{paths['model']})")
    print(f"next: ccneg-build {paths['photos']} --images column --image-column image --eval-size 8 "
          f"--out {out / 'negations'}")
    return 0
