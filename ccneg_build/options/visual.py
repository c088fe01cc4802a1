"""Settings of the visual check, its flags and its reason codes.

The model, its weights and the threshold decide which rows are kept, so they are output
settings (stored with the run; a rerun with other values needs ``--overwrite``, and the
score cache then spares the model work). The batch size only changes speed.
"""

from __future__ import annotations

from typing import Any

from ccneg_build.options.flags import ConfigError
from ccneg_core.presence import (
    DEFAULT_ABSENT_THRESHOLD_CHOICE, DETECTOR_PREFIX, DISTRACTORS, NoScorerError, VisualOptions, default_threshold,
    scorer_provider,
)
from ccneg_core.devices import DEFAULT_DEVICE, DEFAULT_PRECISION, DeviceError, check_device, check_precision
from ccneg_core.devices import device_flag, precision_flag

#: Reason codes of the visual step (stage ``visual``); docs/format.md mirrors them.
VISUAL_REASONS: dict[str, str] = {
    "object_not_visible": "--verify-visual: the chosen object's visual score is below the threshold",
    "visual_image_unreadable": "--verify-visual: the row's image could not be decoded for scoring",
    "absent_object_visible": "--verify-visual, --style negbench: the absent object's visual score is at or above "
                             "the absent threshold",
}

#: ``BuildConfig.options`` keys that only change speed: a resumed run may change them. The
#: precision stays an output setting: it can move a score across the threshold.
SPEED_OPTIONS = ("verify_visual_batch_size", "verify_visual_device")


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
    absent = config_options.get("verify_visual_absent_threshold")
    if absent is not None and not 0.0 <= float(absent) <= 1.0:
        raise ConfigError(f"--verify-visual-absent-threshold {absent}: give a score between 0 and 1")
    batch = int(config_options.get("verify_visual_batch_size") or 32)
    if batch < 1:
        raise ConfigError("--verify-visual-batch-size must be at least 1")
    _check_detector_id(model, "--verify-visual")
    return VisualOptions(model=model, pretrained=config_options.get("verify_visual_pretrained"),
                         threshold=None if threshold is None else float(threshold),
                         absent_threshold=None if absent is None else float(absent), batch_size=batch,
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
                                                   f"{default_threshold('open_clip:'):g}, chance, for CLIP-like models; "
                                                   f"{default_threshold(DETECTOR_PREFIX):g} for detectors)")),
        (("--verify-visual-absent-threshold",), dict(metavar="T", type=float, dest="verify_visual_absent_threshold",
                                                     default=None,
                                                     help="--style negbench: the absent object must score below T "
                                                          f"(default: {DEFAULT_ABSENT_THRESHOLD_CHOICE:g} for "
                                                          f"CLIP-like models, {default_threshold(DETECTOR_PREFIX):g} "
                                                          "for detectors); present objects use --verify-visual-threshold")),
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
    try:
        scorer_provider().check(visual.model)
    except NoScorerError as err:
        raise ConfigError(f"--verify-visual: {err}") from None
    except ValueError as err:
        raise ConfigError(f"--verify-visual {visual.model}: {err}") from None
    return visual


def _check_detector_id(model: str, flag: str) -> None:
    if model.startswith(DETECTOR_PREFIX) and not model[len(DETECTOR_PREFIX):].strip():
        raise ConfigError(f"{flag} hf-detector:ID needs a model id or folder (e.g. hf-detector:google/owlv2-base-patch16)")
