"""Images for URL rows: fetch, check, resize, store resumably, attach to rows.

Split by job so each part can be tested alone:

* :mod:`.options`  the settings (:class:`ImageOptions`) and the reason codes;
* :mod:`.decode`   pure bytes-in, bytes-out checks: type, size, bomb guard, resize, sha256;
* :mod:`.fetch`    the asynchronous HTTP client (concurrency, timeouts, retries, opt-outs);
* :mod:`.store`    the per-shard store that makes downloads resumable;
* :mod:`.step`     the pipeline step both engines call: rows in, rows-with-images or rejections out.

We use our own downloader rather than ``img2dataset``; the README ("Images") says why.
"""

from ccneg_build.images.options import IMAGE_REASONS, ImageOptions
from ccneg_build.images.decode import ImageRejected, StoredImage, prepare_image
from ccneg_build.images.fetch import ImageFailure, ImageFetcher, ImageOutcome
from ccneg_build.images.store import ImageStore
from ccneg_build.images.step import attach_images

__all__ = [
    "IMAGE_REASONS",
    "ImageFailure",
    "ImageFetcher",
    "ImageOptions",
    "ImageOutcome",
    "ImageRejected",
    "ImageStore",
    "StoredImage",
    "attach_images",
    "prepare_image",
]
