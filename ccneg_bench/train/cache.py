"""Frozen-tower feature caching: encode every training image once, then train the text tower.

With the image tower locked and deterministic preprocessing, the image and distractor
features of a sample are the same at every step, so they are computed once (sharded over
ranks, gathered), written to ``CACHE/<key>.safetensors`` atomically, and training never
decodes an image again. The key hashes everything that determines the features: the model
fingerprint, the image-tower weights, the transform, the precision, the sample ids and
distractors in order, and (for rows that point at image files) the files' sizes and times.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ccneg_bench.train.data import ImagePairs, TrainRows
from ccneg_bench.train.distributed import DistInfo, barrier
from ccneg_bench.train.model import TrainableClip
from ccneg_core.writer import atomic_output


def cache_key(clip: TrainableClip, rows: TrainRows, with_distractors: bool, precision: str) -> str:
    """A hash of everything the cached features depend on."""
    digest = hashlib.sha256()
    digest.update(json.dumps(clip.adapter.describe(), sort_keys=True, default=str).encode())
    for name, tensor in sorted(clip.model.visual.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    digest.update(repr(clip.transform).encode())
    digest.update(precision.encode())
    digest.update(str(with_distractors).encode())
    digest.update("\x1f".join(rows.ids).encode())
    digest.update(",".join(map(str, rows.distractor_rows)).encode())
    digest.update(rows.fingerprint.encode())
    return digest.hexdigest()[:24]


@torch.no_grad()
def _encode_range(
    clip: TrainableClip, rows: TrainRows, indices: list[int], with_distractors: bool, device: torch.device,
    autocast: Callable, batch_size: int, workers: int, show: bool,
) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    dataset = torch.utils.data.Subset(ImagePairs(rows, clip.transform, with_distractors, clip.image_size), indices)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=workers, shuffle=False)
    images, distractors, bad = [], [], 0
    clip.model.visual.eval()
    for batch in tqdm(loader, desc="caching image features", disable=not show):
        with autocast():
            images.append(clip.encode_image(batch["image"].to(device)).float().cpu())
            if with_distractors:
                distractors.append(clip.encode_image(batch["distractor"].to(device)).float().cpu())
        bad += int(batch["bad"].sum())
    dim = clip.model.visual.output_dim if hasattr(clip.model.visual, "output_dim") else None
    empty = torch.zeros(0, dim or 0)
    image_features = torch.cat(images) if images else empty
    distractor_features = (torch.cat(distractors) if distractors else empty) if with_distractors else None
    return image_features, distractor_features, bad


def _gather_padded(tensor: torch.Tensor, counts: list[int], info: DistInfo, device: torch.device) -> torch.Tensor:
    """All ranks' row blocks (of differing lengths) concatenated in rank order."""
    import torch.distributed as dist

    longest = max(counts)
    padded = torch.zeros(longest, tensor.shape[1], dtype=tensor.dtype, device=device)
    padded[: tensor.shape[0]] = tensor.to(device)
    parts = [torch.empty_like(padded) for _ in range(info.world_size)]
    dist.all_gather(parts, padded)
    return torch.cat([part[:n].cpu() for part, n in zip(parts, counts)])


def _every_rank_has(path: Path, info: DistInfo, device: torch.device) -> bool:
    """A cache hit must be collective: if any machine lacks the file, all ranks recompute."""
    present = path.is_file()
    if not info.enabled:
        return present
    import torch.distributed as dist

    flag = torch.tensor([1 if present else 0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def build_feature_cache(
    clip: TrainableClip, rows: TrainRows, with_distractors: bool, cache_dir: Path, info: DistInfo,
    device: torch.device, autocast: Callable, precision: str, batch_size: int = 256, workers: int = 4,
) -> tuple[dict[str, torch.Tensor], dict[str, int | bool | str]]:
    """Load the cached features of ``rows`` or compute them (sharded over ranks) and save them.

    Returns the feature tensors (``image`` and, for CoN-CLIP, ``distractor``; one row per
    sample, L2-normalised, on the CPU) and statistics (hit, bad images, key).
    """
    key = cache_key(clip, rows, with_distractors, precision)
    path = Path(cache_dir) / f"{key}.safetensors"
    if _every_rank_has(path, info, device):
        return load_file(str(path)), {"cache_hit": True, "bad_images": 0, "key": key}
    n = len(rows)
    bounds = [n * r // info.world_size for r in range(info.world_size + 1)]
    mine = list(range(bounds[info.rank], bounds[info.rank + 1]))
    image, distractor, bad = _encode_range(
        clip, rows, mine, with_distractors, device, autocast, batch_size, workers, show=info.is_main
    )
    if info.enabled:
        import torch.distributed as dist

        counts = [bounds[r + 1] - bounds[r] for r in range(info.world_size)]
        image = _gather_padded(image, counts, info, device)
        if distractor is not None:
            distractor = _gather_padded(distractor, counts, info, device)
        bad_tensor = torch.tensor([bad], device=device)
        dist.all_reduce(bad_tensor)
        bad = int(bad_tensor.item())
    tensors = {"image": image.contiguous()}
    if distractor is not None:
        tensors["distractor"] = distractor.contiguous()
    if info.local_rank == 0:  # one writer per machine: works with and without a shared file system
        with atomic_output(path) as tmp:
            save_file(tensors, str(tmp), metadata={"rows": str(n), "bad_images": str(bad)})
    barrier(info)
    return tensors, {"cache_hit": False, "bad_images": bad, "key": key}
