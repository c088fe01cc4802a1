"""Images for URL rows: fetch, check, resize, store resumably, attach to rows.

Split by job so each part can be tested alone:

* :mod:`.prepare`, :mod:`.fetch`, :mod:`.store` and :mod:`.step` below; the settings and reason
  codes are :mod:`ccneg_build.options.images`, and decoding, shared with bench and train, is
  :mod:`ccneg_core.image_decode`;
* :mod:`.prepare`  what a download keeps: content type and byte size checks, resize, sha256;
* :mod:`.fetch`    the asynchronous HTTP client (concurrency, timeouts, retries, opt-outs);
* :mod:`.store`    the per-shard store that makes downloads resumable;
* :mod:`.step`     the pipeline step both engines call: rows in, rows-with-images or rejections out.

We use our own downloader rather than ``img2dataset``; the README ("Images") says why.
"""
