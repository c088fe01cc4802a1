"""Is this object in this image? The presence check that ``ccneg-build --verify-visual`` and
``ccneg-train mine-distractors --verify-absence`` share.

What the check means is defined here, once: how an object is named to a model
(:data:`PROMPT`), the temperature of a CLIP-like choice (:data:`LOGIT_SCALE`), how many other
objects it chooses among (:data:`DISTRACTORS`) and the default thresholds. The scorers
themselves need models, which ``ccneg_bench`` owns; ``ccneg_build`` must not import it. So a
package that can score announces itself under the entry-point group :data:`ENTRY_POINT_GROUP`
(ccneg's own ``pyproject.toml`` registers ``ccneg_bench.presence``), and
:func:`scorer_provider` finds it: the dependency points from the scorer to this protocol,
never from the build up to the bench.

A provider module has two functions:

* ``check(model: str) -> None``: refuse a model spec that cannot score images, with a
  ``ValueError`` whose message names the spec (run before anything is read or loaded);
* ``load(model, pretrained, device, precision) -> PresenceScorer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Protocol, Sequence

from ccneg_core.devices import DEFAULT_DEVICE, DEFAULT_PRECISION

#: The entry-point group a presence-scorer provider registers under.
ENTRY_POINT_GROUP = "ccneg.presence_scorers"
#: Spec prefix of open-vocabulary detectors (OWL-ViT, OWLv2) loaded with transformers.
DETECTOR_PREFIX = "hf-detector:"
#: How the object is named to a model (CLIP's usual template; detectors get the same text).
PROMPT = "a photo of a {}."
#: Other objects a CLIP-like model chooses among, besides the one being checked.
DISTRACTORS = 15
#: The softmax temperature of a CLIP-like choice: CLIP's trained (and clamped) logit scale.
LOGIT_SCALE = 100.0
#: Default thresholds: chance level of a choice among 1 + DISTRACTORS objects; the usual
#: OWL-ViT detection score threshold.
DEFAULT_THRESHOLD_CHOICE = 1.0 / (1 + DISTRACTORS)
DEFAULT_THRESHOLD_DETECTOR = 0.1
#: ``--style negbench``: a CLIP-like model "sees" the absent object when it gives it at least half
#: the probability among the row's affirmed objects and the others; a detector, at its usual threshold.
DEFAULT_ABSENT_THRESHOLD_CHOICE = 0.5


class PresenceScorer(Protocol):
    """A model that scores, per image, how likely an object is in it (0..1)."""

    #: whether :meth:`score` needs other objects to choose among (CLIP-like models do)
    needs_distractors: bool

    @property
    def identity(self) -> str:
        """Changes whenever the scores could (weights, prompt, scale, precision): keys caches."""
        ...

    def score(self, images: Sequence[Any], objects: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[float]:
        """One score per image for its object (``candidates``: the other objects per image)."""
        ...


@dataclass(frozen=True)
class VisualOptions:
    """How a presence check is run: the model, its weights, thresholds, batch, device and precision
    (what ``ccneg-build --verify-visual*`` and ``mine-distractors --verify-absence*`` ask for)."""

    model: str
    pretrained: str | None = None
    threshold: float | None = None
    absent_threshold: float | None = None
    batch_size: int = 32
    device: str = DEFAULT_DEVICE
    precision: str = DEFAULT_PRECISION

    @property
    def is_detector(self) -> bool:
        return is_detector(self.model)

    @property
    def effective_threshold(self) -> float:
        return self.threshold if self.threshold is not None else default_threshold(self.model)

    @property
    def effective_absent_threshold(self) -> float:
        """``--style negbench``: the score from which the absent object counts as seen."""
        if self.absent_threshold is not None:
            return self.absent_threshold
        return default_threshold(self.model) if self.is_detector else DEFAULT_ABSENT_THRESHOLD_CHOICE

    @property
    def label(self) -> str:
        """What ``visual_model`` holds: the spec, and the weights when given."""
        return self.model + (f" ({self.pretrained})" if self.pretrained else "")


class NoScorerError(RuntimeError):
    """No installed package provides presence scorers (the bench extra is missing)."""


def is_detector(model: str) -> bool:
    """Whether ``model`` names an open-vocabulary detector rather than a CLIP-like model."""
    return model.startswith(DETECTOR_PREFIX)


def default_threshold(model: str) -> float:
    """The threshold a check uses when none is given, by the kind of model."""
    return DEFAULT_THRESHOLD_DETECTOR if is_detector(model) else DEFAULT_THRESHOLD_CHOICE


def scorer_provider() -> ModuleType:
    """The module registered under :data:`ENTRY_POINT_GROUP` (the first by name when several are)."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    if not found:
        raise NoScorerError("no presence scorer is installed: pip install 'ccneg[bench]'")
    try:
        return found[0].load()
    except ImportError as err:
        raise NoScorerError(f"the presence scorers cannot be imported ({err}): pip install 'ccneg[bench]'") from None
