"""The dataset's own object vocabulary, and the other objects each row is compared against.

A CLIP-like model says how likely the chosen object is *among alternatives*; drawing those
from the objects the dataset itself talks about keeps them in the same domain (a fixed
list such as ImageNet classes would be too easy for some objects and meaningless for
others). Objects the caption mentions are never alternatives (the image likely shows them
too), nor are objects that contain the chosen one or are contained in it ("dining table" vs
"table"). The draw is seeded by row id, so it never depends on order, shards or workers.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any, Iterable, Sequence

from ccneg_core.lexicon import phrase_count

_SPACES = re.compile(r"\s+")


def normalise_object(text: str | None) -> str:
    """Lower case, single spaces: ``"Dining  Table"`` -> ``"dining table"``."""
    return _SPACES.sub(" ", (text or "").strip().lower())


def build_vocabulary(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every distinct object (chosen or not) of the given records, sorted."""
    found: set[str] = set()
    for row in rows:
        found.add(normalise_object(row.get("negated_object")))
        for relation in row.get("relations") or []:
            found.add(normalise_object((relation or {}).get("object")))
    found.discard("")
    return sorted(found)


def vocabulary_fingerprint(vocabulary: Sequence[str]) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for word in vocabulary:
        digest.update(word.encode() + b"\x1f")
    return digest.hexdigest()


def _excluded(candidate: str, obj: str, caption: str) -> bool:
    return (candidate == obj or phrase_count(candidate, caption) > 0
            or phrase_count(obj, candidate) > 0 or phrase_count(candidate, obj) > 0)


def distractors(row_id: str, seed: int, caption: str, obj: str, vocabulary: Sequence[str], k: int) -> list[str]:
    """Up to ``k`` objects of ``vocabulary`` for this row, drawn without replacement.

    Random positions are tried (at most ``20 k`` of them) rather than scanning the whole
    vocabulary, so the cost per row does not grow with the dataset.
    """
    obj = normalise_object(obj)
    rng = random.Random(int.from_bytes(hashlib.blake2b(f"visual\x1f{seed}\x1f{row_id}".encode(),
                                                       digest_size=8).digest(), "big"))
    chosen: list[str] = []
    tried: set[int] = set()
    size = len(vocabulary)
    attempts = 0
    while len(chosen) < k and len(tried) < size and attempts < 20 * k:
        attempts += 1
        index = rng.randrange(size)
        if index in tried:
            continue
        tried.add(index)
        candidate = vocabulary[index]
        if not _excluded(candidate, obj, caption):
            chosen.append(candidate)
    return chosen


def absence_alternatives(row_id: str, seed: int, caption: str, obj: str, named: Sequence[str | None],
                         vocabulary: Sequence[str], k: int) -> list[str]:
    """Up to ``k`` objects to weigh ``obj`` against when asking whether it is *absent* from an
    image meant to show the rest of the caption (a mined distractor).

    The caption's other things (``named``: its subject, the other relations' objects) come
    first: such an image should show them, so they draw the probability away from an absent
    object instead of leaving it spread over objects that are all absent. The rest are drawn
    as :func:`distractors` draws them. Never ``obj`` itself or a phrase that contains it or
    that it contains.
    """
    obj = normalise_object(obj)
    chosen: list[str] = []
    for thing in named:
        thing = normalise_object(thing)
        if thing and thing not in chosen and not _excluded(thing, obj, ""):
            chosen.append(thing)
    chosen = chosen[:k]
    drawn = [o for o in distractors(row_id, seed, caption, obj, vocabulary, k) if o not in chosen]
    return chosen + drawn[:k - len(chosen)]
