"""The image step against a real HTTP server on 127.0.0.1 that serves images and failures."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from ccneg_build.images.fetch import ImageFetcher
from ccneg_build.options.images import ImageOptions
from ccneg_core.image_decode import ImageRejected
from ccneg_build.images.step import attach_images
from ccneg_build.images.prepare import prepare_image
from ccneg_build.images.fetch import opt_out_directive
from ccneg_build.options.images import ALL_NETWORKS
from ccneg_build.images.store import stored_ids
from ccneg_core.record import Rejection, SourceRow, StepStats, make_id
from tests.scale.image_server import ImageServer, bomb_png, generated_image

#: the test server listens on 127.0.0.1, which the address guard refuses unless allowed
FAST = dict(timeout_s=2.0, retries=1, backoff_s=0.05, concurrency=8, allow_private_networks=ALL_NETWORKS)

#: path -> the reason its row must end with (None: the row keeps an image)
CASES: dict[str, str | None] = {
    "/img/1.jpg": None,
    "/img/2.png": None,
    "/img/3.webp": None,
    "/img/4.gif": None,
    "/octet/5.jpg": None,
    "/redirect/6.jpg": None,
    "/flaky/7.jpg": None,
    "/status/404": "http_404",
    "/status/500": "http_500",
    "/status/403": "http_403",
    "/slow.jpg": "timeout",
    "/truncated.jpg": "corrupt_image",
    "/page.html": "not_an_image",
    "/html-as-image.jpg": "not_an_image",
    "/bomb.png": "decompression_bomb",
    "/loop/a": "redirect_loop",
    "/noai.jpg": "opted_out",
    "/big.jpg": "too_large",
}


def _rows(server: ImageServer, paths) -> list[SourceRow]:
    rows = [SourceRow(id=make_id("t", i, p), source="t", source_row=i, caption=f"c {i}", url=server.url(p)) for i, p in enumerate(paths)]
    rows.append(SourceRow(id=make_id("t", 99, "x"), source="t", source_row=99, caption="x", url="ftp://example/x.jpg"))
    return rows


@pytest.fixture
def server():
    with ImageServer(slow_seconds=7.0) as running:
        yield running


def test_every_row_ends_with_an_image_or_its_reason(server, tmp_path):
    options = ImageOptions(max_bytes=200_000, **FAST)
    rows = _rows(server, CASES)
    stats = StepStats()
    results = attach_images(rows, ImageFetcher(options), tmp_path / "store", stats)
    assert len(results) == len(rows)
    for path, result in zip(CASES, results):
        expected = CASES[path]
        if expected is None:
            assert isinstance(result, SourceRow), (path, result)
            data = result.image["bytes"]
            Image.open(io.BytesIO(data)).load()
            assert result.image["path"].startswith(result.id + ".")
        else:
            assert isinstance(result, Rejection), (path, result)
            assert (result.reason, result.stage) == (expected, "image"), (path, result.detail)
            assert server.url(path) in result.detail  # the detail names the URL
    assert isinstance(results[-1], Rejection) and results[-1].reason == "bad_url"
    # formats are kept as served (encode="keep"), byte for byte
    assert results[0].image["bytes"] == generated_image(1, "jpg")
    assert results[3].image["path"].endswith(".gif")
    # retries: the flaky URL was asked twice, the 404 once, the 500 (retryable) 1 + retries times
    assert server.count("/flaky/7.jpg") == 2
    assert server.count("/status/404") == 1
    assert server.count("/status/500") == 2
    assert stats.counts["images_fetched"] == 7
    assert stats.counts["images_failed"] == len(rows) - 7
    assert stats.counts["image_rejected:http_404"] == 1


def test_a_second_pass_downloads_nothing_already_stored(server, tmp_path):
    options = ImageOptions(**FAST)
    paths = [f"/img/{n}.jpg" for n in range(20)] + ["/status/404"]
    rows = _rows(server, paths)
    first = attach_images(rows, ImageFetcher(options), tmp_path / "store")
    requests_after_first = len(server.requests)
    assert stored_ids(tmp_path / "store") == {row.id for row in rows}
    stats = StepStats()
    second = attach_images(rows, ImageFetcher(options), tmp_path / "store", stats)
    assert len(server.requests) == requests_after_first  # not one request more
    assert stats.counts["images_resumed"] == 20 and "image_requests" not in stats.counts
    assert [getattr(r, "image", None) for r in first] == [getattr(r, "image", None) for r in second]


def test_only_missing_images_are_fetched_after_a_partial_store(server, tmp_path):
    options = ImageOptions(flush_every=5, **FAST)
    paths = [f"/img/{n}.png" for n in range(12)]
    rows = _rows(server, paths)[:-1]
    attach_images(rows[:7], ImageFetcher(options), tmp_path / "store")
    server.requests.clear()
    attach_images(rows, ImageFetcher(options), tmp_path / "store")
    assert sorted(server.requests) == sorted(paths[7:])


def test_optouts_can_be_switched_off(server):
    options = ImageOptions(honor_optouts=False, **FAST)
    (outcome,) = ImageFetcher(options).fetch([("a", server.url("/noai.jpg"))])
    assert outcome.ok


def test_opt_out_header_parsing():
    assert opt_out_directive(["noindex, noai"], ("noai", "noimageai")) == "noai"
    assert opt_out_directive(["otherbot: noimageai"], ("noai", "noimageai")) == "noimageai"
    assert opt_out_directive(["noindex", "nofollow"], ("noai", "noimageai")) is None


def test_resize_keeps_aspect_and_reencodes():
    png = generated_image(9, "png", (300, 150))
    stored = prepare_image(png, "image/png", ImageOptions(resize_shorter=50, encode="jpeg"))
    assert (stored.width, stored.height, stored.format) == (100, 50, "JPEG")
    assert Image.open(io.BytesIO(stored.data)).size == (100, 50)
    assert stored.sha256 == hashlib.sha256(stored.data).hexdigest()
    # JPEGs are scaled down while decoding; the result still has exactly the asked size
    jpeg = generated_image(2, "jpg", (320, 240))
    scaled = prepare_image(jpeg, "image/jpeg", ImageOptions(resize_shorter=60))
    assert (scaled.width, scaled.height, scaled.format) == (80, 60, "JPEG")
    assert Image.open(io.BytesIO(scaled.data)).size == (80, 60)
    # never enlarged; an RGBA image flattens onto white for JPEG
    small = prepare_image(png, None, ImageOptions(resize_shorter=500))
    assert (small.width, small.height, small.data) == (300, 150, png)
    rgba = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(rgba, "PNG")
    flat = prepare_image(rgba.getvalue(), "image/png", ImageOptions(encode="jpeg"))
    assert Image.open(io.BytesIO(flat.data)).convert("RGB").getpixel((5, 5))[0] > 240


def test_bomb_is_refused_from_the_header_alone():
    with pytest.raises(ImageRejected) as caught:
        prepare_image(bomb_png(), "image/png", ImageOptions())
    assert caught.value.reason == "decompression_bomb" and "400000000 pixels" in caught.value.detail
    with pytest.raises(ImageRejected) as caught:  # our own limit applies below PIL's
        prepare_image(generated_image(1, "png", (300, 200)), "image/png", ImageOptions(max_pixels=10_000))
    assert caught.value.reason == "decompression_bomb" and "300 x 200" in caught.value.detail


def test_bad_settings_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="--image-format 'tiff'"):
        ImageOptions(encode="tiff")
    with pytest.raises(ValueError, match="--image-size 0: give a positive number of pixels"):
        ImageOptions(resize_shorter=0)


@pytest.mark.parametrize("flags", [("--image-size", "0"), ("--image-quality", "500"), ("--image-timeout", "0")])
def test_bad_image_flags_are_one_line_usage_errors(tmp_path, flags):
    from tests.scale.helpers import run_ccneg_build

    out = tmp_path / "out"
    result = run_ccneg_build("--out", str(out), "--images", "download", *flags)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and flags[0] in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_fetch_works_from_inside_a_running_event_loop(server):
    import asyncio

    async def caller():
        return ImageFetcher(ImageOptions(**FAST)).fetch([("a", server.url("/img/1.png"))])

    (outcome,) = asyncio.run(caller())
    assert outcome.ok and outcome.image.format == "PNG"


def test_a_damaged_or_unfinished_part_is_ignored_and_refetched(server, tmp_path):
    options = ImageOptions(flush_every=4, **FAST)
    paths = [f"/img/{n}.webp" for n in range(8)]
    rows = _rows(server, paths)[:-1]
    store = tmp_path / "store"
    attach_images(rows, ImageFetcher(options), store)
    parts = sorted(store.glob("part-*.parquet"))
    assert len(parts) == 2
    parts[1].write_bytes(b"PAR1 not really")  # a disk fault
    (store / "part-000009.parquet.tmp-123").write_bytes(b"half")  # a kill mid-write leaves this
    server.requests.clear()
    results = attach_images(rows, ImageFetcher(options), store)
    assert len(server.requests) == 4  # only the rows of the damaged part
    assert all(isinstance(r, SourceRow) for r in results)


def test_downloads_per_host_are_capped():
    with ImageServer(image_delay=0.1) as slow_server:
        options = ImageOptions(concurrency=8, max_per_host=2, timeout_s=5.0, retries=0, allow_private_networks=ALL_NETWORKS)
        outcomes = ImageFetcher(options).fetch([(str(n), slow_server.url(f"/img/{n}.jpg")) for n in range(10)])
        assert all(o.ok for o in outcomes)
        assert slow_server.max_in_flight == 2


def test_retry_after_is_honoured_and_a_long_one_is_not_waited_for(server):
    import time

    options = ImageOptions(concurrency=2, timeout_s=5.0, retries=2, backoff_s=0.01, allow_private_networks=ALL_NETWORKS)
    started = time.monotonic()
    busy, long_busy = ImageFetcher(options).fetch([("a", server.url("/busy/3.jpg")), ("b", server.url("/busy-long/4.jpg"))])
    assert busy.ok and busy.attempts == 2
    assert time.monotonic() - started >= 1.0  # it waited as asked before the second request
    assert not long_busy.ok and long_busy.failure.reason == "http_429" and long_busy.attempts == 1


def _guarded(**extra) -> ImageFetcher:
    return ImageFetcher(ImageOptions(timeout_s=2.0, retries=0, **extra))


def test_private_loopback_and_link_local_addresses_are_refused_in_every_spelling(server):
    port = server.port
    urls = [
        f"http://127.0.0.1:{port}/img/1.jpg",
        f"http://localhost:{port}/img/1.jpg",
        f"http://0x7f000001:{port}/img/1.jpg",  # hex
        f"http://2130706433:{port}/img/1.jpg",  # one decimal number
        f"http://127.1:{port}/img/1.jpg",  # short form
        f"http://[::1]:{port}/img/1.jpg",
        f"http://[::ffff:127.0.0.1]:{port}/img/1.jpg",  # IPv4-mapped IPv6
        f"http://0.0.0.0:{port}/img/1.jpg",
        "http://169.254.169.254/latest/meta-data/",  # link-local (cloud metadata)
        "http://10.0.0.1/x.jpg", "http://192.168.1.1/x.jpg", "http://100.64.0.1/x.jpg",  # private, shared
        "http://224.0.0.1/x.jpg", "http://240.0.0.1/x.jpg",  # multicast, reserved
    ]
    outcomes = _guarded().fetch([(str(i), url) for i, url in enumerate(urls)])
    for url, outcome in zip(urls, outcomes):
        assert outcome.failure is not None and outcome.failure.reason == "private_address", (url, outcome)
        assert "--allow-private-addresses" in outcome.failure.detail
    assert server.requests == []  # refused before any connection


def test_every_redirect_hop_is_checked(server):
    port = server.port
    hop_to = {
        "127.0.0.2": f"/goto?to=http%3A//127.0.0.2%3A{port}/img/1.jpg",
        "0x7f000002": f"/goto?to=http%3A//0x7f000002%3A{port}/img/2.jpg",
        "[::1]": f"/goto?to=http%3A//%5B::1%5D%3A{port}/img/3.jpg",
    }
    # only the test server's own address is allowed: the first hop passes, the redirects must not
    fetcher = _guarded(allow_private_networks=("127.0.0.1/32",))
    outcomes = fetcher.fetch([(name, server.url(path)) for name, path in hop_to.items()]
                             + [("same-host", server.url("/redirect/6.jpg"))])
    for outcome in outcomes[:-1]:
        assert outcome.failure is not None and outcome.failure.reason == "private_address", outcome
    assert outcomes[-1].ok  # a redirect to an allowed address is followed
    assert not any(path.startswith("/img/") and path != "/img/6.jpg" for path in server.requests)


def test_the_allow_flag_lets_the_local_server_through(server):
    [outcome] = _guarded(allow_private_networks=ALL_NETWORKS).fetch([("a", server.url("/img/1.jpg"))])
    assert outcome.ok and server.requests == ["/img/1.jpg"]
