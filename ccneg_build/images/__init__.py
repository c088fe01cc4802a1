"""Images for URL rows: fetch, check, resize, store resumably, attach to rows.

Split by job so each part can be tested alone:

* :mod:`.options`  the settings (:class:`ImageOptions`) and the reason codes;
* :mod:`.decode`   THE safe decoder shared by build, bench and train: reference -> bytes ->
                   checked pixels -> RGB, one set of reason codes, one pixel limit;
* :mod:`.prepare`  what a download keeps: content type and byte size checks, resize, sha256;
* :mod:`.fetch`    the asynchronous HTTP client (concurrency, timeouts, retries, opt-outs);
* :mod:`.store`    the per-shard store that makes downloads resumable;
* :mod:`.step`     the pipeline step both engines call: rows in, rows-with-images or rejections out.

We use our own downloader rather than ``img2dataset``; the README ("Images") says why.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule; imported on first use so that reading the flags of
#: :mod:`.options` does not import the HTTP client.
_EXPORTS = {
    "IMAGE_REASONS": "options",
    "ImageOptions": "options",
    "ImageRejected": "decode",
    "DECODE_REASONS": "decode",
    "DEFAULT_MAX_PIXELS": "decode",
    "decode_image": "decode",
    "StoredImage": "prepare",
    "prepare_image": "prepare",
    "ImageFailure": "fetch",
    "ImageFetcher": "fetch",
    "ImageOutcome": "fetch",
    "ImageStore": "store",
    "attach_images": "step",
    "make_image_step": "step",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ccneg_build.images' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ccneg_build.images.{_EXPORTS[name]}"), name)
