"""``--trainable``: which parameters a run trains (the rest keep ``requires_grad = False``).

* ``all``: every parameter (both towers);
* ``text``: the text tower and the shared logit scale (and bias): everything outside ``visual.``.
  This is CoN-CLIP's recipe and what ``--lock-image`` always meant;
* ``image``: the image tower (``visual.``) and the shared logit scale (and bias);
* ``text:N``: the first N transformer blocks of the text tower **and the embeddings below them**
  (token and positional embeddings, which feed block 0: the words "no", "not", "without" get
  their meaning there). The later blocks, the final LayerNorm, the text projection and the logit
  scale stay frozen, so the output space the frozen image tower was aligned with moves only
  through what the early blocks now pass up. Only open_clip's own text transformer has numbered
  blocks; a Hugging Face text tower refuses ``text:N`` by name.

A frozen image tower (``text``, ``text:N``) lets the trainer cache the image features.
This module imports no torch: the names are checked before anything loads.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import torch

#: the spellings ``--trainable`` accepts (``text:N`` with N >= 1 besides these)
CHOICES = ("all", "text", "image")
#: parameters shared by both towers, trained with either tower alone
SHARED = ("logit_scale", "logit_bias")
_FIRST_BLOCKS = re.compile(r"^text:(\d+)$")
#: open_clip's text tower: on ``CLIP`` at the top level, on ``CustomTextCLIP`` under ``text.``
_TEXT_PREFIXES = ("", "text.")
_BLOCK = re.compile(r"^(?P<prefix>(?:text\.)?)transformer\.resblocks\.(?P<index>\d+)\.")


def parse_trainable(choice: str) -> tuple[str, int | None]:
    """``("text", 3)`` for ``text:3``, ``("all", None)`` for ``all``; ``ValueError`` otherwise."""
    if choice in CHOICES:
        return choice, None
    match = _FIRST_BLOCKS.match(choice)
    if match and int(match.group(1)) >= 1:
        return "text", int(match.group(1))
    raise ValueError(f"--trainable {choice}: use all, text, image or text:N (the first N text blocks, N >= 1)")


def trains_image_tower(choice: str) -> bool:
    """Whether the image tower learns (``all``, ``image``); otherwise its features can be cached."""
    return parse_trainable(choice)[0] in ("all", "image")


def cache_needs_locked_tower(choice: str) -> str:
    """The message when ``--cache-features on`` meets a run that trains the image tower."""
    return (f"--cache-features on needs a locked image tower (--trainable text or text:N); this run trains "
            f"{choice}{' (--no-lock-image)' if choice == 'all' else ''}")


def text_blocks(names: Iterable[str]) -> tuple[str, int]:
    """(prefix of the text tower, number of its transformer blocks) from parameter names."""
    counts: dict[str, set[int]] = {}
    for name in names:
        match = _BLOCK.match(name)
        if match:
            counts.setdefault(match.group("prefix"), set()).add(int(match.group("index")))
    for prefix in _TEXT_PREFIXES:
        if prefix in counts:
            return prefix, len(counts[prefix])
    return "", 0


def is_trained(name: str, choice: str, prefix: str = "") -> bool:
    """Whether parameter ``name`` trains under ``choice`` (``prefix``: where the text tower sits)."""
    part, blocks = parse_trainable(choice)
    if part == "all":
        return True
    if part == "image":
        return name.startswith("visual.") or name in SHARED
    if blocks is None:  # the whole text tower
        return not name.startswith("visual.")
    if name in (f"{prefix}token_embedding.weight", f"{prefix}positional_embedding"):
        return True
    match = _BLOCK.match(name)
    return bool(match) and match.group("prefix") == prefix and int(match.group("index")) < blocks


def select_trainable(model: "torch.nn.Module", choice: str) -> list[str]:
    """Set ``requires_grad`` on every parameter of ``model`` for ``choice``; return the trained names.

    ``ValueError`` when ``text:N`` asks for more blocks than the text tower has, or the model has
    no numbered text blocks.
    """
    names = [name for name, _ in model.named_parameters()]
    _, blocks = parse_trainable(choice)
    prefix, available = text_blocks(names)
    if blocks is not None and available == 0:
        raise ValueError(f"--trainable {choice}: this model's text tower has no open_clip transformer blocks "
                         "(a Hugging Face text tower?); use text, image or all")
    if blocks is not None and blocks > available:
        raise ValueError(f"--trainable {choice}: the text tower has {available} blocks; use text:1 .. text:{available}")
    trained = []
    for name, param in model.named_parameters():
        keep = is_trained(name, choice, prefix)
        param.requires_grad_(keep)
        if keep:
            trained.append(name)
    return trained
