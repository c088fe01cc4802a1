"""Settings of the visual check, its flags and its reason codes.

The model, its weights and the threshold decide which rows are kept, so they are output
settings (stored with the run; a rerun with other values needs ``--overwrite``, and the
score cache then spares the model work). The batch size only changes speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccneg_build.config import ConfigError
from ccneg_build.devices import DEFAULT_DEVICE, DEFAULT_PRECISION, DeviceError, check_device, check_precision
from ccneg_build.devices import device_flag, precision_flag

#: Reason codes of the visual step (stage ``visual``); docs/format.md mirrors them.
VISUAL_REASONS: dict[str, str] = {
    "object_not_visible": "--verify-visual: the chosen object's visual score is below the threshold",
    "visual_image_unreadable": "--verify-visual: the row's image could not be decoded for scoring",
}

#: Spec prefix of open-vocabulary detectors (OWL-ViT, OWLv2) loaded with transformers.
DETECTOR_PREFIX = "hf-detector:"
#: How the object is named to a model (CLIP's usual template; detectors get the same text).
PROMPT = "a photo of a {}."
#: Other objects a CLIP-like model chooses among, besides the row's own.
DISTRACTORS = 15
#: The softmax temperature of a CLIP-like choice: CLIP's trained (and clamped) logit scale.
LOGIT_SCALE = 100.0
#: Default thresholds: chance level of a choice among 1 + DISTRACTORS objects; the usual
#: OWL-ViT detection score threshold.
DEFAULT_THRESHOLD_CHOICE = 1.0 / (1 + DISTRACTORS)
DEFAULT_THRESHOLD_DETECTOR = 0.1
#: ``BuildConfig.options`` keys that only change speed: a resumed run may change them. The
#: precision stays an output setting: it can move a score across the threshold.
SPEED_OPTIONS = ("verify_visual_batch_size", "verify_visual_device")


@dataclass(frozen=True)
class VisualOptions:
    """What ``--verify-visual*`` asked for."""

    model: str
    pretrained: str | None = None
    threshold: float | None = None
    batch_size: int = 32
    device: str = DEFAULT_DEVICE
    precision: str = DEFAULT_PRECISION

    @property
    def is_detector(self) -> bool:
        return self.model.startswith(DETECTOR_PREFIX)

    @property
    def effective_threshold(self) -> float:
        if self.threshold is not None:
            return self.threshold
        return DEFAULT_THRESHOLD_DETECTOR if self.is_detector else DEFAULT_THRESHOLD_CHOICE

    @property
    def label(self) -> str:
        """What ``visual_model`` holds: the spec, and the weights when given."""
        return self.model + (f" ({self.pretrained})" if self.pretrained else "")


def options_from_config(config_options: dict[str, Any]) -> VisualOptions | None:
    """The visual settings held in ``BuildConfig.options`` (``None`` without ``--verify-visual``)."""
    model = config_options.get("verify_visual")
    if not model:
        for key, flag in (("verify_visual_device", "--device"), ("verify_visual_precision", "--precision")):
            if config_options.get(key) is not None:
                raise ConfigError(f"{flag} {config_options[key]}: sets the model of the visual check; "
                                  "add --verify-visual MODEL or leave it out")
        return None
    threshold = config_options.get("verify_visual_threshold")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ConfigError(f"--verify-visual-threshold {threshold}: give a score between 0 and 1")
    batch = int(config_options.get("verify_visual_batch_size") or 32)
    if batch < 1:
        raise ConfigError("--verify-visual-batch-size must be at least 1")
    _check_detector_id(model, "--verify-visual")
    return VisualOptions(model=model, pretrained=config_options.get("verify_visual_pretrained"),
                         threshold=None if threshold is None else float(threshold), batch_size=batch,
                         device=config_options.get("verify_visual_device") or DEFAULT_DEVICE,
                         precision=config_options.get("verify_visual_precision") or DEFAULT_PRECISION)


def visual_flags() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """The ``--verify-visual*`` flags of ``ccneg-build`` as (flags, argparse kwargs) pairs."""
    return [
        (("--verify-visual",), dict(metavar="MODEL", dest="verify_visual", default=None,
                                    help="score whether each accepted row's chosen object is visible in its image "
                                         "(needs --images) and reject it as object_not_visible below the threshold. "
                                         "MODEL: a ccneg-bench model spec (open_clip:ARCH, hf:ORG/NAME, conclip:PATH: "
                                         f"the object's probability among {DISTRACTORS} other objects of the dataset) "
                                         "or hf-detector:ID (OWL-ViT/OWLv2: the best box score for the object)")),
        (("--verify-visual-pretrained",), dict(metavar="P", dest="verify_visual_pretrained", default=None,
                                               help="weights of a CLIP-like MODEL (as ccneg-bench --pretrained), "
                                                    "or the Hub revision of an hf-detector")),
        (("--verify-visual-threshold",), dict(metavar="T", type=float, dest="verify_visual_threshold", default=None,
                                              help="lowest score kept (default: "
                                                   f"{DEFAULT_THRESHOLD_CHOICE:g}, chance, for CLIP-like models; "
                                                   f"{DEFAULT_THRESHOLD_DETECTOR:g} for detectors)")),
        (("--verify-visual-batch-size",), dict(metavar="N", type=int, dest="verify_visual_batch_size", default=None,
                                               help="images per model batch (default: 32)")),
        device_flag(dest="verify_visual_device", default=None),
        precision_flag(dest="verify_visual_precision", default=None),
    ]


def check_config(config: Any) -> VisualOptions | None:
    """Refuse a visual check that cannot work, before anything is read or written."""
    visual = options_from_config(config.options)
    if visual is None:
        return None
    if config.images == "none":
        raise ConfigError("--verify-visual needs images: add --images download (fetch each URL) "
                          "or --images column --image-column NAME")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError("--verify-visual needs PyTorch: pip install 'ccneg[bench]'") from None
    try:
        check_precision(visual.precision, check_device(visual.device))
    except DeviceError as err:
        raise ConfigError(str(err)) from None
    check_scorer_spec(visual.model, "--verify-visual")
    return visual


def _check_detector_id(model: str, flag: str) -> None:
    if model.startswith(DETECTOR_PREFIX) and not model[len(DETECTOR_PREFIX):].strip():
        raise ConfigError(f"{flag} hf-detector:ID needs a model id or folder (e.g. hf-detector:google/owlv2-base-patch16)")


def check_scorer_spec(model: str, flag: str) -> None:
    """Refuse a model spec no visual scorer can load (``flag`` names the option in the message).

    Shared by ``ccneg-build --verify-visual`` and ``ccneg-train mine-distractors --verify-absence``.
    """
    if model.startswith(DETECTOR_PREFIX):
        _check_detector_id(model, flag)
        return
    from ccneg_bench.models import UnknownModelError, get_loader, parse_spec

    try:
        get_loader(parse_spec(model)[0])
    except UnknownModelError as err:
        raise ConfigError(f"{flag}: {err} (or hf-detector:ID for a detector)") from None
    if model.startswith("text:"):
        raise ConfigError(f"{flag} {model}: a text-only model cannot look at images")
