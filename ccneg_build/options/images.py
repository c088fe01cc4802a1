"""Settings of the image step and the reason codes a failed image gets.

The settings that change the stored bytes (resize, encoding, limits, opt-out policy) are
part of :meth:`ImageOptions.describe`, which the run stores so that a resumed run never
mixes images prepared two different ways. Speed settings (concurrency, timeout, retries)
are not, so they may change between a run and its resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccneg_core import __version__
from ccneg_core.image_decode import DECODE_REASONS, DEFAULT_MAX_PIXELS

#: Every reason an image can reject its row with (stage "image"): the download's own codes plus
#: the shared decoder's (``not_an_image``, ``corrupt_image``, ``decompression_bomb``,
#: ``missing_image``); docs/format.md mirrors it.
IMAGE_REASONS: dict[str, str] = {
    "no_url": "the row has no image URL",
    "bad_url": "the URL is not an http(s) URL",
    "http_<status>": "the server answered with this HTTP error status (http_404, http_500, ...)",
    "timeout": "the server did not answer within the timeout, after every retry",
    "connection_error": "the connection failed (DNS, refused, reset), after every retry",
    "redirect_loop": "the URL redirects in a loop or more often than allowed",
    "opted_out": "the server opts the image out of AI use (X-Robots-Tag noai / noimageai)",
    "too_large": "the response is larger than the maximum byte size",
    **DECODE_REASONS,
    "private_address": "the URL (or a redirect) leads to a private, loopback, link-local, multicast or reserved "
                       "address; refused unless --allow-private-addresses",
}

#: Content types that may still hold an image (servers often send these for files).
GENERIC_CONTENT_TYPES = ("application/octet-stream", "binary/octet-stream", "application/binary")

#: Formats kept as they are with ``encode="keep"``; anything else is re-encoded as JPEG.
KEEPABLE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")

ENCODINGS = ("keep", "jpeg", "png", "webp")

#: ``--allow-private-addresses``: the address guard lets every network through.
ALL_NETWORKS = ("0.0.0.0/0", "::/0")


def http_reason(status: int) -> str:
    """``404`` -> ``"http_404"``: the code names the status so counts stay readable."""
    return f"http_{status}"


@dataclass(frozen=True)
class ImageOptions:
    """How images are fetched and stored. Defaults suit CC3M-style web photos."""

    concurrency: int = 32
    #: downloads in flight to one host (politeness; CC3M has hosts with thousands of URLs)
    max_per_host: int = 8
    #: seconds per network operation (connect, each read); a whole attempt gets 3x this
    timeout_s: float = 10.0
    #: extra attempts after a timeout, connection error, 408, 429 or 5xx (never after a 4xx)
    retries: int = 2
    #: seconds before the first retry; doubles each time
    backoff_s: float = 0.5
    max_bytes: int = 20 * 1024 * 1024
    #: the decompression-bomb guard: width x height above this rejects the image unread
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_redirects: int = 5
    #: resize so that the shorter side is this many pixels (aspect kept, never enlarged)
    resize_shorter: int | None = None
    #: "keep" stores the server's bytes unless a resize forces a re-encode
    encode: str = "keep"
    quality: int = 90
    honor_optouts: bool = True
    optout_directives: tuple[str, ...] = ("noai", "noimageai")
    user_agent: str = f"ccneg-image-fetcher/{__version__} (research dataset builder; honours X-Robots-Tag noai)"
    #: results kept in memory before the store writes them to disk (resume granularity)
    flush_every: int = 16
    #: networks the address guard lets through (CIDR strings); ``--allow-private-addresses`` = all
    allow_private_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if self.encode not in ENCODINGS:
            problems.append(f"--image-format {self.encode!r}: choose one of {', '.join(ENCODINGS)}")
        if self.concurrency < 1:
            problems.append("--image-concurrency must be at least 1")
        if self.max_per_host < 1:
            problems.append("--image-per-host must be at least 1")
        if self.resize_shorter is not None and self.resize_shorter < 1:
            problems.append(f"--image-size {self.resize_shorter}: give a positive number of pixels")
        if not 1 <= self.quality <= 100:
            problems.append(f"--image-quality {self.quality}: give a number from 1 to 100")
        if self.retries < 0:
            problems.append("--image-retries must be zero or more")
        if self.max_bytes < 1:
            problems.append("--image-max-bytes must be positive")
        if self.max_pixels < 1:
            problems.append("--image-max-pixels must be positive")
        if not self.timeout_s > 0:
            problems.append("--image-timeout must be positive")
        if problems:
            raise ValueError("; ".join(problems))

    def describe(self) -> dict[str, Any]:
        """The settings that determine the stored images (for the manifest and resume)."""
        return {
            "max_bytes": self.max_bytes,
            "max_pixels": self.max_pixels,
            "resize_shorter": self.resize_shorter,
            "encode": self.encode,
            "quality": self.quality,
            "honor_optouts": self.honor_optouts,
            "optout_directives": list(self.optout_directives),
            "allow_private_networks": list(self.allow_private_networks),
        }



#: ``BuildConfig.options`` keys that only change speed: a resumed run may change them.
SPEED_OPTIONS = ("image_concurrency", "image_per_host", "image_timeout", "image_retries")

#: ``BuildConfig.options`` key -> ImageOptions field.
CONFIG_KEYS = {
    "image_size": "resize_shorter",
    "image_format": "encode",
    "image_quality": "quality",
    "image_max_bytes": "max_bytes",
    "image_max_pixels": "max_pixels",
    "image_concurrency": "concurrency",
    "image_per_host": "max_per_host",
    "image_timeout": "timeout_s",
    "image_retries": "retries",
}


def options_from_config(config_options: dict[str, Any]) -> ImageOptions:
    """The :class:`ImageOptions` held in a ``BuildConfig.options`` dict (defaults if absent)."""
    values = {field_name: config_options[key] for key, field_name in CONFIG_KEYS.items()
              if config_options.get(key) is not None}
    if config_options.get("ignore_optouts"):
        values["honor_optouts"] = False
    if config_options.get("allow_private_addresses"):
        values["allow_private_networks"] = ALL_NETWORKS
    return ImageOptions(**values)


def image_flags() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """The ``--image-*`` flags of ``ccneg-build`` as (flags, argparse kwargs) pairs."""
    d = ImageOptions()
    return [
        (("--image-size",), dict(type=int, default=None, metavar="N", dest="image_size",
                                 help="resize so the shorter side is N pixels (aspect kept, never enlarged); default: keep")),
        (("--image-format",), dict(choices=ENCODINGS, default=d.encode, dest="image_format",
                                   help="keep the server's bytes (re-encoded only when resized) or re-encode (default: keep)")),
        (("--image-quality",), dict(type=int, default=d.quality, dest="image_quality",
                                    help=f"JPEG/WebP quality when re-encoding (default: {d.quality})")),
        (("--image-max-bytes",), dict(type=int, default=d.max_bytes, dest="image_max_bytes",
                                      help=f"largest download accepted, in bytes (default: {d.max_bytes})")),
        (("--image-max-pixels",), dict(type=int, default=d.max_pixels, dest="image_max_pixels",
                                       help=f"decompression-bomb guard: largest width x height (default: {d.max_pixels})")),
        (("--ignore-optouts",), dict(action="store_true", dest="ignore_optouts",
                                     help="also fetch images whose server sends X-Robots-Tag noai/noimageai "
                                          "(honoured by default)")),
        (("--allow-private-addresses",), dict(action="store_true", dest="allow_private_addresses",
                                              help="also fetch from private, loopback, link-local, multicast and "
                                                   "reserved addresses (refused by default, reason private_address: "
                                                   "a URL list must not read a machine's internal services)")),
        (("--image-concurrency",), dict(type=int, default=d.concurrency, dest="image_concurrency",
                                        help=f"downloads in flight per worker (default: {d.concurrency})")),
        (("--image-per-host",), dict(type=int, default=d.max_per_host, dest="image_per_host",
                                     help=f"downloads in flight to one host (default: {d.max_per_host})")),
        (("--image-timeout",), dict(type=float, default=d.timeout_s, dest="image_timeout",
                                    help=f"seconds per network read; a whole attempt gets 3x (default: {d.timeout_s:g})")),
        (("--image-retries",), dict(type=int, default=d.retries, dest="image_retries",
                                    help=f"extra attempts after timeouts, dropped connections, 429, 5xx (default: {d.retries})")),
    ]
