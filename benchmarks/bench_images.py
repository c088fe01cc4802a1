"""How fast is the image step, and how much does concurrency buy?

Measured in one run against a local HTTP server that adds a fixed latency to every answer
(``--latency``, default 50 ms: a typical far-away web server), on the same generated images:

1. the baseline: one download at a time (``--image-concurrency 1``);
2. the default concurrency (32 in flight, 8 per host) and a higher one;
3. the CPU side alone: :func:`prepare_image` (checks, decode, resize to 256, re-encode) on
   640 x 480 JPEGs, without any network: the ceiling once latency is hidden.

The server runs in its own process so that it does not compete with the client for the
interpreter lock.

It prints images/s and the ratios to the baseline, and writes them as JSON with ``--json``.

    python benchmarks/bench_images.py [--images 200] [--latency 0.05] [--json results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccneg_build.images.fetch import ImageFetcher
from ccneg_build.options.images import ImageOptions
from ccneg_build.images.prepare import prepare_image
from ccneg_build.options.images import ALL_NETWORKS  # noqa: E402
from tests.scale.image_server import ImageServer, generated_image  # noqa: E402


def _serve(latency: float, ports: "multiprocessing.Queue[int]", stop: "multiprocessing.Event") -> None:
    """The image server in its own process, so it does not share the client's interpreter lock."""
    with ImageServer(image_delay=latency) as server:
        ports.put(server.port)
        stop.wait()


def fetch_rate(base_url: str, count: int, concurrency: int, per_host: int) -> dict[str, float]:
    options = ImageOptions(concurrency=concurrency, max_per_host=per_host, resize_shorter=256, timeout_s=30,
                           allow_private_networks=ALL_NETWORKS)  # the local server is on 127.0.0.1
    items = [(str(n), f"{base_url}/img/{n}.{('jpg', 'png', 'webp')[n % 3]}") for n in range(count)]
    started = time.perf_counter()
    outcomes = ImageFetcher(options).fetch(items)
    seconds = time.perf_counter() - started
    return {"images": count, "ok": sum(o.ok for o in outcomes), "seconds": seconds, "images_per_s": count / seconds}


def photo_sized_jpeg(n: int) -> bytes:
    """A 640 x 480 JPEG with real detail (a fractal), the size of a typical CC3M photo."""
    image = Image.effect_mandelbrot((640, 480), (-2.0 + n * 0.001, -1.2, 1.0, 1.2), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def prepare_rate(count: int) -> float:
    blobs = [photo_sized_jpeg(n) for n in range(count)]
    options = ImageOptions(resize_shorter=256)
    started = time.perf_counter()
    for blob in blobs:
        prepare_image(blob, None, options)
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200, help="images per measurement (default 200)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the server waits per answer")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    for n in range(args.images):  # generate once, outside every timing
        generated_image(n, ("jpg", "png", "webp")[n % 3])
    ports: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    serving = multiprocessing.Process(target=_serve, args=(args.latency, ports, stop), daemon=True)
    serving.start()
    try:
        base_url = f"http://127.0.0.1:{ports.get(timeout=60)}"
        baseline = fetch_rate(base_url, min(args.images, 60), 1, 1)  # sequential is slow: fewer images
        default = fetch_rate(base_url, args.images, 32, 8)
        wide = fetch_rate(base_url, args.images, 64, 64)
    finally:
        stop.set()
        serving.join(timeout=10)
    cpu = prepare_rate(min(args.images, 100))
    results = {
        "latency_s": args.latency,
        "cpu_count": os.cpu_count(),
        "sequential": baseline,
        "concurrency_32_per_host_8": default,
        "concurrency_64_per_host_64": wide,
        "prepare_only_images_per_s": round(cpu, 1),
        "ratio_default_to_sequential": round(default["images_per_s"] / baseline["images_per_s"], 2),
        "ratio_wide_to_sequential": round(wide["images_per_s"] / baseline["images_per_s"], 2),
    }
    print(f"server latency {args.latency * 1000:.0f} ms, {os.cpu_count()} cpus, resize to 256 px")
    print(f"sequential (1 in flight)           {baseline['images_per_s']:8.1f} images/s")
    print(f"default (32 in flight, 8 per host) {default['images_per_s']:8.1f} images/s  "
          f"ratio {results['ratio_default_to_sequential']:.1f}x  (one host here, so 8 in flight)")
    print(f"64 in flight, 64 per host          {wide['images_per_s']:8.1f} images/s  "
          f"ratio {results['ratio_wide_to_sequential']:.1f}x")
    print(f"checks + decode + resize only      {cpu:8.1f} images/s  (640 x 480 JPEGs: the CPU ceiling per worker)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
