"""Which words of the negated caption are new: what a reviewer's eye should land on.

A word-level alignment (difflib) of the caption and the negated caption, compared on
lower-case words without surrounding punctuation; every word of the negated caption that
the alignment does not match to the caption is marked as inserted ("not", "without",
"with no", "does not", a replaced predicate). The text itself is returned unchanged, as
segments, so the page escapes and shows exactly what the dataset holds.
"""

from __future__ import annotations

import difflib
import re

_PIECES = re.compile(r"\s+|\S+")
_EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$")


def _key(word: str) -> str:
    return _EDGE_PUNCTUATION.sub("", word.lower().replace("\u2019", "'"))


def inserted_segments(caption: str | None, negated: str | None) -> list[tuple[str, bool]]:
    """``negated`` cut into ``(text, inserted)`` segments that concatenate back to it.

    >>> inserted_segments("a flag on a dome", "a flag, not on a dome")
    [('a flag, ', False), ('not', True), (' on a dome', False)]
    """
    negated = negated or ""
    pieces = _PIECES.findall(negated)
    word_positions = [i for i, piece in enumerate(pieces) if not piece.isspace()]
    new_words = [_key(pieces[i]) for i in word_positions]
    old_words = [_key(w) for w in (caption or "").split()]
    inserted: set[int] = set()
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for tag, _a0, _a1, b0, b1 in matcher.get_opcodes():
        if tag in ("insert", "replace"):  # words only: a lone comma is not what the eye should find
            inserted.update(p for p, key in zip(word_positions[b0:b1], new_words[b0:b1]) if key)
    segments: list[tuple[str, bool]] = []
    for i, piece in enumerate(pieces):
        flag = i in inserted
        # a space between two inserted words belongs to the highlight ("does not")
        if piece.isspace() and i - 1 in inserted and i + 1 in inserted:
            flag = True
        if segments and segments[-1][1] == flag:
            segments[-1] = (segments[-1][0] + piece, flag)
        else:
            segments.append((piece, flag))
    return segments
