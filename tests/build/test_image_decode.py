"""The one image decoder: every reference form, one set of codes and one limit for every command."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ccneg_bench.features import encode_image_table
from ccneg_core.image_decode import (
    DECODE_REASONS, DEFAULT_MAX_PIXELS, ImageRejected, decode_image, decode_image_with_note, read_image_bytes,
)
from ccneg_build.options.images import IMAGE_REASONS, ImageOptions
from ccneg_build.images.prepare import prepare_image
from ccneg_core.pages import inline_image
from tests.scale.released_fixture import user_command, user_env


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _photo() -> Image.Image:
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))


def _header_only_bomb(side: int) -> bytes:
    """A PNG whose header declares side x side pixels and whose pixel data is cut off.

    Decoding it would fail as truncated; refusing it as a bomb proves the limit is applied from
    the header, before any pixel is decoded.
    """
    whole = _png(Image.new("1", (side, side)))
    return whole[: whole.index(b"IDAT") + 12]


BAD_BYTES = {
    "html": (b"<html><body>404 not found</body></html>", "not_an_image"),
    "truncated_jpeg": (_jpeg(_photo())[:400], "corrupt_image"),
    "bomb": (_header_only_bomb(2_000), "decompression_bomb"),
}


def test_every_reference_form_resolves_to_the_same_bytes(tmp_path):
    data = _png(_photo())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.png").write_bytes(data)
    absolute = str(tmp_path / "sub" / "a.png")
    for ref, root in [(data, None), (bytearray(data), None), ({"bytes": data, "path": None}, None),
                      ({"bytes": data, "path": "elsewhere/never-read.png"}, None),  # inline bytes win
                      ({"bytes": None, "path": absolute}, None), (absolute, None),
                      ({"bytes": None, "path": "sub/a.png"}, str(tmp_path)), ("sub/a.png", tmp_path)]:
        assert read_image_bytes(ref, root)[0] == data, ref if not isinstance(ref, (bytes, bytearray)) else "bytes"
    assert read_image_bytes(absolute)[1] == absolute  # messages name the file


@pytest.mark.parametrize("ref", [None, {"bytes": None, "path": None}, {"bytes": b"", "path": ""},
                                 {"bytes": None, "path": "no/such/file.jpg"}, "no/such/file.jpg"])
def test_a_reference_without_bytes_is_missing_image(ref, tmp_path):
    with pytest.raises(ImageRejected) as caught:
        decode_image(ref, root=str(tmp_path))
    assert caught.value.reason == "missing_image"
    if isinstance(ref, str) or (isinstance(ref, dict) and ref["path"]):
        assert "no/such/file.jpg" in caught.value.detail


@pytest.mark.parametrize("name", sorted(BAD_BYTES))
def test_build_bench_and_review_give_one_code_for_the_same_bytes(name):
    data, code = BAD_BYTES[name]
    limit = 1_000_000  # the bomb declares 4,000,000 pixels
    with pytest.raises(ImageRejected) as built:
        prepare_image(data, None, ImageOptions(max_pixels=limit))
    with pytest.raises(ImageRejected) as scored:
        decode_image(data, max_pixels=limit)
    assert built.value.reason == scored.value.reason == code
    assert code in DECODE_REASONS and code in IMAGE_REASONS
    if name != "bomb":  # the review page uses the default limit
        assert inline_image({"bytes": data, "path": None}).error == code


def test_the_pixel_limit_is_read_from_the_header_before_decoding():
    data = _header_only_bomb(2_000)
    with pytest.raises(ImageRejected) as caught:
        decode_image(data, max_pixels=2_000 * 2_000 - 1)
    assert caught.value.reason == "decompression_bomb" and "4000000 pixels" in caught.value.detail
    with pytest.raises(ImageRejected) as caught:  # at the limit, the cut pixel data is what fails
        decode_image(data, max_pixels=2_000 * 2_000)
    assert caught.value.reason == "corrupt_image"


def test_one_default_pixel_limit_for_every_command():
    assert DEFAULT_MAX_PIXELS == 89_478_485
    assert ImageOptions().max_pixels == DEFAULT_MAX_PIXELS
    assert inspect.signature(encode_image_table).parameters["max_pixels"].default == DEFAULT_MAX_PIXELS
    side = int(DEFAULT_MAX_PIXELS ** 0.5) + 1  # just over the limit: refused by default everywhere
    with pytest.raises(ImageRejected) as caught:
        decode_image(_header_only_bomb(side))
    assert caught.value.reason == "decompression_bomb"
    with pytest.raises(ImageRejected) as caught:
        prepare_image(_header_only_bomb(side), "image/png", ImageOptions())
    assert caught.value.reason == "decompression_bomb"
    shown = user_command("ccneg-build", "--help", timeout=120)
    assert shown.returncode == 0 and f"(default: {DEFAULT_MAX_PIXELS})" in " ".join(shown.stdout.split())


def _rgba_with_a_hole() -> Image.Image:
    rgba = Image.new("RGBA", (8, 6), (200, 10, 10, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent black
    rgba.putpixel((1, 0), (0, 0, 0, 128))  # half transparent black
    return rgba


@pytest.mark.parametrize("source, note, corner", [
    (lambda: _rgba_with_a_hole(), "converted_rgba", (255, 255, 255)),
    (lambda: _rgba_with_a_hole().convert("LA"), "converted_la", (255, 255, 255)),
    (lambda: Image.new("CMYK", (8, 6), (0, 0, 0, 0)), "converted_cmyk", (255, 255, 255)),
    (lambda: Image.new("L", (8, 6), 77), None, (77, 77, 77)),
    (lambda: Image.new("RGB", (8, 6), (1, 2, 3)), None, (1, 2, 3)),
])
def test_modes_become_rgb_with_a_note(source, note, corner):
    image = source()
    data = _png(image) if image.mode != "CMYK" else _jpeg(image)
    decoded, got = decode_image_with_note(data)
    assert decoded.mode == "RGB" and got == note
    assert np.abs(np.asarray(decoded)[0, 0].astype(int) - corner).max() <= 2  # CMYK goes through JPEG
    if image.mode == "RGBA":  # half transparent black on white: mid grey, by the usual "over" rule
        assert np.abs(np.asarray(decoded)[0, 1].astype(int) - 127).max() <= 1


def test_a_built_image_gets_the_same_rgb_conversion_as_a_scored_one():
    sixteen = Image.fromarray((np.arange(30 * 20, dtype=np.uint16).reshape(20, 30) * 100))
    transparent = Image.new("RGBA", (32, 32), (0, 0, 0, 128))  # half transparent black: grey on white
    transparent.paste((0, 0, 0, 0), (0, 0, 16, 32))  # fully transparent: white (never black)
    for source in (sixteen, transparent):
        data = _png(source)
        scored = np.asarray(decode_image(data))
        for encode in ("png", "jpeg"):
            stored = prepare_image(data, "image/png", ImageOptions(encode=encode, quality=100)).data
            built = np.asarray(decode_image(stored))
            tolerance = 0 if encode == "png" and source is sixteen else 3
            assert np.abs(built.astype(int) - scored.astype(int)).max() <= tolerance, (source.mode, encode)
    assert np.asarray(decode_image(_png(sixteen))).max() == 255  # rescaled, not clipped
    assert np.asarray(decode_image(_png(sixteen))).min() == 0


def test_the_decoder_lives_in_the_data_layer_without_torch():
    """Build-only installs have no torch: the decoder, the download step's preparation and the
    review page must import without it."""
    code = ("import sys, ccneg_core.image_decode, ccneg_build.images.prepare, ccneg_core.pages; "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=user_env(), timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr
