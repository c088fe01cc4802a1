"""Step 2 of the paper: the seeded random choice of the object-predicate pair to negate.

The choice depends only on (seed, sample id, number of pairs), never on order, batch,
shard or worker, so any engine and any worker count give the same dataset.
"""

from __future__ import annotations

import hashlib


def choose_relation(seed: int, sample_id: str, num_relations: int) -> int:
    """Return an index in ``range(num_relations)``, uniform over seeds and ids."""
    if num_relations <= 0:
        raise ValueError("num_relations must be positive")
    digest = hashlib.blake2b(f"{seed}\x1f{sample_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % num_relations
