"""THE record schema of a ccneg dataset: every reader, negator, writer and loader imports it.

One source of truth for three views of the same row:

* :class:`SourceRow`   what a reader yields (one caption of the input corpus);
* :class:`Negation`    what a negator proposes for it (before the shared filter);
* :data:`RECORD_SCHEMA` the Arrow schema of an accepted row in ``OUT/data/*.parquet``;
* :data:`NEGBENCH_RECORD_SCHEMA` the same for ``--style negbench`` (objects, MCQ, retrieval);
* :data:`REJECT_SCHEMA` the Arrow schema of a rejected row in ``OUT/rejected/*.parquet``;
* :data:`SOURCE_ROW_SCHEMA` input rows as Arrow (how a shard travels to a Ray actor);

and the builders that turn rows into these schemas (:func:`new_record`, :func:`record_row`,
:func:`reject_row`, :func:`records_table`), which every producer of rows uses.

Column meanings are documented in ``docs/format.md``; keep the two in step.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import pyarrow as pa

SCHEMA_VERSION = "1"

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

#: Output styles of ``ccneg-build --style``: which record schema a build writes.
STYLES = ("ccneg", "negbench")
DEFAULT_STYLE = "ccneg"

#: An object a negbench row names: how the caption writes it, its lexicon concept, where it came from.
OBJECT_TYPE = pa.struct([
    pa.field("name", pa.string()),  # singular, as the caption names it ("stone cottage")
    pa.field("text", pa.string()),  # as written ("stone cottages")
    pa.field("concept", pa.string()),  # the object lexicon's concept ("house"), null if unknown
    pa.field("plural", pa.bool_()),
    pa.field("source", pa.string()),  # "caption" or "labels"
])
#: A candidate absent object that the rules refused, with the reason code.
REFUSAL_TYPE = pa.struct([pa.field("object", pa.string()), pa.field("reason", pa.string()),
                          pa.field("detail", pa.string())])
#: One visual check of a negbench row: an object, whether it should be seen, the score, the verdict.
VISUAL_CHECK_TYPE = pa.struct([
    pa.field("object", pa.string()),
    pa.field("role", pa.string()),  # "present" (must be seen) or "absent" (must not be)
    pa.field("score", pa.float64()),
    pa.field("passed", pa.bool_()),
])

#: Accepted rows of ``--style negbench``: NegBench-style multiple-choice and retrieval data.
#: The ccneg style keeps :data:`RECORD_SCHEMA`; docs/format.md documents both.
NEGBENCH_RECORD_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("source_row", pa.int64()),
        pa.field("url", pa.string()),
        pa.field("image", IMAGE_TYPE),
        pa.field("image_sha256", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("labels", pa.list_(pa.string())),
        pa.field("present_objects", pa.list_(OBJECT_TYPE)),
        pa.field("absent_object", pa.string()),  # N: the absent object the options use
        pa.field("absent_objects", pa.list_(pa.string())),  # every candidate that passed the rules, best first
        pa.field("absent_source", pa.string()),  # "cooccurrence" or "llm"
        pa.field("absent_score", pa.float64()),  # co-occurrence score of N, null for an LLM's
        pa.field("absent_refused", pa.list_(REFUSAL_TYPE)),
        pa.field("affirmed_objects", pa.list_(pa.string())),  # A (and B) as the options write them
        pa.field("mcq_options", pa.list_(pa.string())),  # caption_0..caption_3, in the CSV's order
        pa.field("mcq_templates", pa.list_(pa.string())),  # positive / negative / hybrid per option
        pa.field("correct_answer", pa.int32()),
        pa.field("correct_answer_template", pa.string()),
        pa.field("phrasing", pa.string()),  # the wording family of the row's options
        pa.field("retrieval_captions", pa.list_(pa.string())),
        pa.field("paraphrased", pa.bool_()),  # options and retrieval caption rewritten by an LLM
        pa.field("paraphrase_status", pa.string()),  # --negbench-paraphrase: "kept" or why not; else null
        pa.field("generator", GENERATOR_TYPE),
        pa.field("prompt_version", pa.string()),
        pa.field("split", pa.string()),
        pa.field("visual_checks", pa.list_(VISUAL_CHECK_TYPE)),  # --verify-visual, else null
        pa.field("visual_model", pa.string()),
    ],
    metadata={"ccneg_schema_version": SCHEMA_VERSION, "ccneg_style": "negbench"},
)


def record_schema(style: str) -> pa.Schema:
    """The record schema of an output style."""
    return NEGBENCH_RECORD_SCHEMA if style == "negbench" else RECORD_SCHEMA


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
class Verdict:
    """What the shared filter concluded for an accepted row: the labels it derived."""

    negation_cue: str
    negation_type: str


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


# ----------------------------------------------------------------------------- input rows as Arrow

#: Input rows as Arrow (e.g. a shard travelling to a Ray actor): a typed table, no pickled objects.
SOURCE_ROW_SCHEMA = pa.schema([
    pa.field("id", pa.string()),
    pa.field("source", pa.string()),
    pa.field("source_row", pa.int64()),
    pa.field("caption", pa.string()),
    pa.field("url", pa.string()),
    pa.field("image", IMAGE_TYPE),
    pa.field("labels", pa.list_(pa.string())),
    pa.field("error", pa.string()),
    pa.field("error_detail", pa.string()),
])


def source_rows_table(rows: Iterable[SourceRow]) -> pa.Table:
    """Input rows as a :data:`SOURCE_ROW_SCHEMA` table (images keep only bytes and path)."""
    records = []
    for row in rows:
        record = asdict(row)
        record["labels"] = list(row.labels) if row.labels is not None else None
        record["image"] = image_struct(row.image or None)
        records.append(record)
    return pa.Table.from_pylist(records, schema=SOURCE_ROW_SCHEMA)


def source_rows_from_table(table: pa.Table) -> list[SourceRow]:
    """The inverse of :func:`source_rows_table`."""
    rows = []
    for record in table.to_pylist():
        labels = record.pop("labels")
        rows.append(SourceRow(**record, labels=tuple(labels) if labels is not None else None))
    return rows


# ----------------------------------------------------------------------------- row builders


def new_record(**columns: Any) -> dict[str, Any]:
    """A record row in RECORD_SCHEMA order: the given columns, every other column null.

    The one way rows are assembled (by the pipeline and the official importer alike), so a
    new column reaches every producer; an unknown column name is a programming error.
    """
    unknown = set(columns) - set(RECORD_SCHEMA.names)
    if unknown:
        raise TypeError(f"not record columns: {', '.join(sorted(unknown))}")
    return {name: columns.get(name) for name in RECORD_SCHEMA.names}


def new_negbench_record(row: SourceRow, **columns: Any) -> dict[str, Any]:
    """A negbench row in NEGBENCH_RECORD_SCHEMA order: the input row's columns plus ``columns``."""
    unknown = set(columns) - set(NEGBENCH_RECORD_SCHEMA.names)
    if unknown:
        raise TypeError(f"not negbench record columns: {', '.join(sorted(unknown))}")
    base = {"id": row.id, "source": row.source, "source_row": row.source_row, "url": row.url, "image": row.image,
            "image_sha256": image_sha256(row.image), "caption": row.caption,
            "labels": list(row.labels) if row.labels is not None else None}
    return {name: columns.get(name, base.get(name)) for name in NEGBENCH_RECORD_SCHEMA.names}


def record_row(row: SourceRow, negation: Negation, verdict: Verdict) -> dict[str, Any]:
    """An accepted row as a dict in RECORD_SCHEMA order (``split`` is filled at publishing)."""
    relations = negation.decomposition.relations
    chosen = negation.chosen_relation
    return new_record(
        id=row.id,
        source=row.source,
        source_row=row.source_row,
        url=row.url,
        image=row.image,
        image_sha256=image_sha256(row.image),
        caption=row.caption,
        negated_caption=negation.negated_caption,
        exclusion_caption=negation.exclusion_caption,
        subject=negation.decomposition.subject,
        relations=[{"object": r.object, "predicate": r.predicate} for r in relations],
        num_relations=len(relations),
        negated_object=chosen.object,
        negated_predicate=chosen.predicate,
        negation_cue=verdict.negation_cue,
        negation_type=verdict.negation_type,
        labels=list(row.labels) if row.labels is not None else None,
        generator=negation.generator.as_dict(),
        prompt_version=negation.prompt_version,
    )


def image_sha256(image: dict[str, Any] | None) -> str | None:
    """The ``image_sha256`` column: the digest a fetcher recorded, else that of the bytes."""
    if not image:
        return None
    if image.get("sha256"):
        return str(image["sha256"])
    data = image.get("bytes")
    if data:
        return hashlib.sha256(data).hexdigest()
    return None


def reject_row(row: SourceRow, rejection: Rejection) -> dict[str, Any]:
    """A rejected row as a dict in REJECT_SCHEMA order: enough to audit and retry it."""
    negation = rejection.negation
    generator = rejection.generator or (negation.generator if negation else None)
    return {
        "id": row.id,
        "source": row.source,
        "source_row": row.source_row,
        "url": row.url,
        "caption": row.caption,
        "reason": rejection.reason,
        "detail": rejection.detail,
        "stage": rejection.stage,
        "raw_response": rejection.raw_response or (negation.raw_response if negation else None),
        "negated_caption": negation.negated_caption if negation else None,
        "exclusion_caption": negation.exclusion_caption if negation else None,
        "generator": generator.as_dict() if generator else None,
    }


def read_rejection(row: SourceRow) -> Rejection:
    """The rejection of a row that its reader could not make sense of."""
    return Rejection(reason=row.error or "bad_row", detail=row.error_detail or "", stage="read")


def image_struct(image: dict[str, Any] | None) -> dict[str, Any] | None:
    """An image as the IMAGE_TYPE struct stores it (bytes and path; other keys dropped)."""
    if image is None:
        return None
    return {"bytes": image.get("bytes"), "path": image.get("path")}


def records_table(rows: list[dict[str, Any]], schema: pa.Schema = RECORD_SCHEMA) -> pa.Table:
    cleaned = [{**r, "image": image_struct(r.get("image"))} for r in rows]
    return pa.Table.from_pylist(cleaned, schema=schema)


def rejects_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=REJECT_SCHEMA)
