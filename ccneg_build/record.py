"""THE record schema of a ccneg dataset: every reader, negator, writer and loader imports it.

One source of truth for three views of the same row:

* :class:`SourceRow`   what a reader yields (one caption of the input corpus);
* :class:`Negation`    what a negator proposes for it (before the shared filter);
* :data:`RECORD_SCHEMA` the Arrow schema of an accepted row in ``OUT/data/*.parquet``;
* :data:`REJECT_SCHEMA` the Arrow schema of a rejected row in ``OUT/rejected/*.parquet``.

Column meanings are documented in ``docs/format.md``; keep the two in step.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = "1"

# The values of ``negation_cue`` and ``negation_type`` belong to the negation lexicon.
from ccneg_build.lexicon import NEGATION_CUES, NEGATION_TYPES  # noqa: E402  (re-exported)

#: Hugging Face ``datasets.Image`` storage layout (bytes and/or path).
IMAGE_TYPE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])

RELATION_TYPE = pa.struct([pa.field("object", pa.string()), pa.field("predicate", pa.string())])

GENERATOR_TYPE = pa.struct(
    [
        pa.field("backend", pa.string()),  # "rule", "openai", "gemini", ...
        pa.field("model", pa.string()),  # e.g. "en_core_web_sm-3.8.0", "gpt-4o-mini"
        pa.field("version", pa.string()),  # ccneg version that produced the row
        pa.field("fallback_from", pa.string()),  # backend whose output was rejected, else null
    ]
)

RECORD_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("source_row", pa.int64()),
        pa.field("url", pa.string()),
        pa.field("image", IMAGE_TYPE),
        pa.field("image_sha256", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("negated_caption", pa.string()),
        pa.field("exclusion_caption", pa.string()),
        pa.field("subject", pa.string()),
        pa.field("relations", pa.list_(RELATION_TYPE)),
        pa.field("num_relations", pa.int32()),
        pa.field("negated_object", pa.string()),
        pa.field("negated_predicate", pa.string()),
        pa.field("negation_cue", pa.string()),
        pa.field("negation_type", pa.string()),
        pa.field("labels", pa.list_(pa.string())),
        pa.field("generator", GENERATOR_TYPE),
        pa.field("prompt_version", pa.string()),
        pa.field("split", pa.string()),
        # --verify-visual: the chosen object's visual score and the model that gave it, else null
        pa.field("visual_score", pa.float64()),
        pa.field("visual_model", pa.string()),
    ],
    metadata={"ccneg_schema_version": SCHEMA_VERSION},
)

#: Rejected rows keep enough to audit and to retry them.
REJECT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("source_row", pa.int64()),
        pa.field("url", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("reason", pa.string()),  # a code from ccneg_build.verify.REASONS (or a reader's)
        pa.field("detail", pa.string()),  # one human-readable line
        pa.field("stage", pa.string()),  # "read", "image", "decompose", "negate", "verify", ...
        pa.field("raw_response", pa.string()),  # LLM text for LLM backends, else null
        pa.field("negated_caption", pa.string()),
        pa.field("exclusion_caption", pa.string()),
        pa.field("generator", GENERATOR_TYPE),
    ],
    metadata={"ccneg_schema_version": SCHEMA_VERSION},
)


def conform(table: pa.Table, schema: pa.Schema = RECORD_SCHEMA) -> pa.Table:
    """``table`` in ``schema``'s column order, with columns it lacks added as nulls.

    Files written before a nullable column existed (``visual_score``, ...) stay readable.
    """
    if table.schema.names == schema.names:
        return table
    columns = [table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
               for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def make_id(source: str, source_row: int, caption: str | None) -> str:
    """A stable 16-hex-digit id: same input name, row and caption give the same id.

    The caption is part of the key so that an edited corpus never silently reuses
    ids (and cached answers) of different text.
    """
    key = f"{source}\x1f{source_row}\x1f{caption or ''}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=8).hexdigest()


@dataclass(frozen=True)
class SourceRow:
    """One caption of an input corpus, as every reader yields it.

    ``error`` is set by a reader that could not make sense of the row (wrong column
    count, undecodable bytes, ...); such a row is rejected with that reason code and
    never reaches a negator.
    """

    id: str
    source: str
    source_row: int
    caption: str | None
    url: str | None = None
    image: dict[str, Any] | None = None  # {"bytes": b"...", "path": "..."} or None
    labels: tuple[str, ...] | None = None
    error: str | None = None  # a reason code
    error_detail: str | None = None


@dataclass(frozen=True)
class Relation:
    """One object-predicate pair of a decomposition ("table", "next to")."""

    object: str
    predicate: str


@dataclass(frozen=True)
class Decomposition:
    """The paper's step 1: one subject and its object-predicate pairs."""

    subject: str
    relations: tuple[Relation, ...]


@dataclass(frozen=True)
class Generator:
    """Who wrote a row: stored in the ``generator`` column and the manifest."""

    backend: str
    model: str
    version: str
    fallback_from: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "backend": self.backend,
            "model": self.model,
            "version": self.version,
            "fallback_from": self.fallback_from,
        }


@dataclass(frozen=True)
class Negation:
    """A negator's proposal for one row (steps 2 and 3 of the paper), not yet verified."""

    decomposition: Decomposition
    chosen: int  # index into decomposition.relations
    negated_caption: str
    exclusion_caption: str
    generator: Generator
    prompt_version: str | None = None
    raw_response: str | None = None  # kept so a rejected LLM row can be audited

    @property
    def chosen_relation(self) -> Relation:
        return self.decomposition.relations[self.chosen]


@dataclass(frozen=True)
class Rejection:
    """Why a row was not accepted: a reason code plus one line of detail."""

    reason: str
    detail: str = ""
    stage: str = "negate"
    raw_response: str | None = None
    negation: Negation | None = None
    generator: Generator | None = None


@dataclass
class StepStats:
    """Counts kept by a pipeline step (datatrove style): merged into the manifest."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def merge(self, other: "StepStats | dict[str, int]") -> None:
        items = other.counts if isinstance(other, StepStats) else other
        for key, n in items.items():
            self.add(key, n)
