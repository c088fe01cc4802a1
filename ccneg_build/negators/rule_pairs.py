"""What the rule negator's step 1 hands to step 3: candidate pairs, refused pairs, the parse.

Plain data, shared by the modules that find pairs (:mod:`~ccneg_build.negators.rule_decompose`),
check them (:mod:`~ccneg_build.negators.rule_objects`, :mod:`~ccneg_build.negators.rule_scope`,
:mod:`~ccneg_build.negators.rule_exclusion`) and write them out
(:mod:`~ccneg_build.negators.rule_realize`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

from spacy.tokens import Token


#: How a candidate pair is negated (see :mod:`ccneg_build.negators.rule_realize`).
#: - ``noun_prep``: "not" before a phrase attached to a noun ("a woman, not next to a table")
#: - ``bare_prep``: "not" before a phrase that stands alone ("not in front of the castle")
#: - ``without``:   "with" becomes "without" ("without a mountain")
#: - ``absence``:   "with" becomes "with no" before a bare noun ("with no clouds")
#: - ``verbal``:    the verb that links the object is negated ("does not make her way")
#: - ``conj``:      "X and Y" becomes "X without Y"
KINDS = ("noun_prep", "bare_prep", "without", "absence", "verbal", "conj")


#: Turns a verb token into its base form ("dealing" -> "deal").
Lemmatizer = Callable[[Token], str]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One object-predicate pair and how to negate and remove it.

    Token indices refer to the parsed caption; ``remove`` is the half-open span the
    exclusion caption drops.
    """

    kind: str
    object: str
    predicate: str
    anchor: int  # first token of the predicate (preposition, "with", "and")
    verb: int  # the verb to negate for ``verbal``, else -1
    remove: tuple[int, int]
    determiner: int = -1  # determiner dropped by "with no" ("with some X"), else -1
    fallback: bool = False  # offered only when a caption has no other pair ("an image, not of a cat")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A pair the rules found but will not negate, and why (a reason code of the shared filter)."""

    position: int  # first token of the pair, to report the earliest refusal
    reason: str
    detail: str
    stage: str = "decompose"  # "negate" when the refusal came from writing the captions


@dataclass(frozen=True, slots=True)
class Parse:
    """What step 1 found in one caption."""

    subject: str
    candidates: tuple[Candidate, ...]
    refused: tuple[Refusal, ...] = ()


#: What a pair-finding rule returns: a pair, a refused pair, or nothing to say.
Found = Union[Candidate, Refusal, None]
