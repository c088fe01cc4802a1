"""Bad images are counted and reported per sample; the run goes on; odd modes are scored."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

import ccneg_bench
from ccneg_core.image_decode import DEFAULT_MAX_PIXELS, ImageRejected, decode_image
from tests.helpers.data import draw_image, make_rows, write_rows


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _odd_images() -> dict[str, bytes | None]:
    base = Image.open(io.BytesIO(draw_image(7))).convert("RGB")
    palette = base.convert("P", palette=Image.Palette.ADAPTIVE)
    palette.info["transparency"] = 0
    sixteen = Image.fromarray(np.arange(40 * 40, dtype=np.uint16).reshape(40, 40) * 40)
    side = int(DEFAULT_MAX_PIXELS ** 0.5) + 200
    bomb = _encode(Image.new("1", (side, side)), "PNG")  # tiny file, ~90M pixels
    good_jpeg = _encode(base, "JPEG")
    return {
        "corrupt": b"\x89PNG\r\n\x1a\n this is not an image",
        "truncated": good_jpeg[: len(good_jpeg) // 2],
        "missing": None,
        "bomb": bomb,
        "cmyk": _encode(base.convert("CMYK"), "JPEG"),
        "palette": _encode(palette, "PNG"),
        "sixteen_bit": _encode(sixteen, "PNG"),
    }


def test_decode_modes_and_failures():
    images = _odd_images()
    for name in ("cmyk", "palette", "sixteen_bit"):
        decoded = decode_image({"bytes": images[name], "path": None})
        assert decoded.mode == "RGB", name
    sixteen = np.asarray(decode_image({"bytes": images["sixteen_bit"], "path": None}))
    assert sixteen.min() == 0 and sixteen.max() == 255  # rescaled, not clipped to white
    expected = {"corrupt": "not_an_image", "truncated": "corrupt_image", "bomb": "decompression_bomb"}
    for name, code in expected.items():
        try:
            decode_image({"bytes": images[name], "path": None})
        except ImageRejected as err:
            assert err.reason == code, name
        else:
            raise AssertionError(f"{name} decoded")


def test_bad_images_counted_per_sample_and_run_continues(tiny_spec, tmp_path):
    spec, weights = tiny_spec
    rows = make_rows(16)
    bad = _odd_images()
    names = list(bad)
    for row, name in zip(rows, names):
        row["image"] = {"bytes": bad[name], "path": None if name != "missing" else "no/such/file.jpg"}
    write_rows(tmp_path / "ds", rows, "eval")
    kwargs = dict(pretrained=weights, output_dir=tmp_path / "out", save_predictions=True, workers=2, batch_size=4,
                  cache_dir=tmp_path / "cache", progress=False)
    results = ccneg_bench.evaluate(spec, str(tmp_path / "ds"), ["ccneg", "retrieval"], **kwargs)
    rerun = ccneg_bench.evaluate(spec, str(tmp_path / "ds"), ["ccneg"], **kwargs)[0]
    assert rerun["cache"]["images"]["images_decoded"] == 0  # failures and notes come back from the cache
    assert rerun["failures"] == results[0]["failures"] and rerun["conversions"] == results[0]["conversions"]
    ccneg = results[0]
    failures = {f["id"]: f["code"] for f in ccneg["failures"]}
    by_name = {name: rows[i]["id"] for i, name in enumerate(names)}
    assert failures == {
        by_name["corrupt"]: "not_an_image",
        by_name["truncated"]: "corrupt_image",
        by_name["missing"]: "missing_image",
        by_name["bomb"]: "decompression_bomb",
    }
    assert ccneg["metrics"]["n_failed"] == 4 and ccneg["metrics"]["n_scored"] == 12
    conversions = {c["id"]: c["code"] for c in ccneg["conversions"]}
    assert conversions == {by_name["cmyk"]: "converted_cmyk", by_name["palette"]: "converted_p",
                           by_name["sixteen_bit"]: "converted_16bit"}
    assert ccneg["n_converted"] == 3
    assert results[1]["metrics"]["n_scored"] == 12
    written = json.loads(open(ccneg["path"], encoding="utf-8").read())
    assert len(written["failures"]) == 4
    assert all(f["detail"] for f in written["failures"])


def test_dataset_without_any_image_is_an_error_for_image_models_only(tiny_spec, tmp_path):
    spec, weights = tiny_spec
    rows = make_rows(6)
    for row in rows:
        row["image"] = None
    write_rows(tmp_path / "ds", rows, "eval")
    ccneg, retrieval = ccneg_bench.evaluate(spec, str(tmp_path / "ds"), ["ccneg", "retrieval"], pretrained=weights,
                                            workers=0, progress=False)
    for result in (ccneg, retrieval):  # finishes, but never as "ok" with an empty accuracy
        assert result["status"] == "error" and "has no images" in result["error"]
        assert "text:negation-words" in result["error"]
    assert {f["code"] for f in ccneg["failures"]} == {"missing_image"} and len(ccneg["failures"]) == 6
    (text,) = ccneg_bench.evaluate("text:negation-words", str(tmp_path / "ds"), ["ccneg"], workers=0, progress=False)
    assert text["status"] == "ok" and text["metrics"]["accuracy"] == 1.0
