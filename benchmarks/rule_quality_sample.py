"""Re-check the rule negator's quality: acceptance rate and a seeded sample to read.

Runs the rule backend and the shared filter (``ccneg_build.verify``) on a CC3M-style TSV
(``caption<TAB>url``, no header), prints the share of captions that give an accepted
record, the reject reasons, and a random sample of accepted records for a person to
judge (fluent English? negates something the caption says?). It also prints the
negator's speed next to plain ``nlp.pipe`` with the same components, measured in the
same run (one process).

    python benchmarks/rule_quality_sample.py [TSV] [--sample 50] [--sample-seed 1] [--seed 0]

Without TSV it reads ``$CCNEG_DEV_TSV`` or ``../shared/data/cc3m_val_dev.tsv`` next to
the repository. ``--json FILE`` also writes the numbers and the sample as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

from ccneg_build.negators.rule import DEFAULT_BATCH_SIZE, RuleNegator, load_rule_pipeline
from ccneg_core.record import Negation, SourceRow, make_id
from ccneg_build.verify import verify
from ccneg_core.record import Verdict

DEFAULT_TSV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cc3m_val_dev.tsv"


def read_captions(path: Path, limit: int | None) -> list[SourceRow]:
    """Rows of a ``caption<TAB>url`` file, ids made the way the build does."""
    rows: list[SourceRow] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for number, line in enumerate(handle):
            if limit is not None and number >= limit:
                break
            caption, _, rest = line.rstrip("\r\n").partition("\t")
            url = rest.split("\t", 1)[0] or None
            rows.append(
                SourceRow(
                    id=make_id(path.name, number, caption),
                    source=path.name,
                    source_row=number,
                    caption=caption,
                    url=url,
                )
            )
    return rows


def _parse_seconds(rows: list[SourceRow]) -> float:
    """Seconds plain ``nlp.pipe`` takes over the captions with the negator's components."""
    nlp = load_rule_pipeline()
    texts = [row.caption or "" for row in rows]
    started = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=DEFAULT_BATCH_SIZE):
        pass
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tsv", nargs="?", type=Path, default=None, help="caption<TAB>url file")
    parser.add_argument("--sample", type=int, default=50, help="accepted records to print (default 50)")
    parser.add_argument("--sample-seed", type=int, default=1, help="seed of the printed sample")
    parser.add_argument("--seed", type=int, default=0, help="negator seed (which pair is negated)")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N rows")
    parser.add_argument("--rejected", type=int, default=0, help="also print N random rejected rows")
    parser.add_argument("--json", type=Path, default=None, help="write numbers and sample here")
    args = parser.parse_args(argv)

    path = args.tsv or Path(os.environ.get("CCNEG_DEV_TSV", DEFAULT_TSV))
    if not path.is_file():
        print(f"error: caption file {path} not found; pass a TSV path or set CCNEG_DEV_TSV", file=sys.stderr)
        return 2
    rows = read_captions(path, args.limit)
    negator = RuleNegator(seed=args.seed)
    negator.negate_batch(rows[:200])  # warm-up
    parse_before = _parse_seconds(rows)
    started = time.perf_counter()
    outcomes = negator.negate_batch(rows)
    elapsed = time.perf_counter() - started
    parse_s = (parse_before + _parse_seconds(rows)) / 2  # bracket the run: load may change

    accepted: list[tuple[SourceRow, Negation, Verdict]] = []
    rejected: list[tuple[SourceRow, str, str]] = []
    for row, outcome in zip(rows, outcomes):
        if isinstance(outcome, Negation):
            verdict = verify(row, outcome)
            if isinstance(verdict, Verdict):
                accepted.append((row, outcome, verdict))
                continue
            rejected.append((row, verdict.reason, verdict.detail))
        else:
            rejected.append((row, outcome.reason, outcome.detail))

    rate = len(accepted) / max(len(rows), 1)
    print(f"captions: {len(rows)}  accepted: {len(accepted)}  acceptance rate: {rate:.1%}")
    print(
        f"rule negator: {len(rows) / max(elapsed, 1e-9):.0f} captions/s (parse included); "
        f"plain nlp.pipe with the same components: {len(rows) / max(parse_s, 1e-9):.0f} captions/s; "
        f"ratio {parse_s / max(elapsed, 1e-9):.2f}"
    )
    reasons = Counter(reason for _, reason, _ in rejected)
    for reason, count in reasons.most_common():
        print(f"  rejected {reason}: {count}")
    cues = Counter(v.negation_cue for _, _, v in accepted)
    types = Counter(v.negation_type for _, _, v in accepted)
    print("cues: " + ", ".join(f"{k} {v}" for k, v in cues.most_common()))
    print("types: " + ", ".join(f"{k} {v}" for k, v in types.most_common()))

    rng = random.Random(args.sample_seed)
    sample = rng.sample(accepted, min(args.sample, len(accepted)))
    print(f"\n--- {len(sample)} random accepted records (sample seed {args.sample_seed}) ---")
    for number, (row, negation, verdict) in enumerate(sample, 1):
        relation = negation.chosen_relation
        print(f"[{number}] row {row.source_row}: {row.caption}")
        print(f"     object: {relation.object!r} via {relation.predicate!r} ({verdict.negation_type})")
        print(f"     negated:   {negation.negated_caption}")
        print(f"     exclusion: {negation.exclusion_caption}")
    if args.rejected:
        print(f"\n--- {min(args.rejected, len(rejected))} random rejected rows ---")
        for row, reason, detail in rng.sample(rejected, min(args.rejected, len(rejected))):
            print(f"row {row.source_row} [{reason}] {detail}: {row.caption}")

    if args.json is not None:
        report = {
            "captions": len(rows),
            "accepted": len(accepted),
            "acceptance_rate": rate,
            "negator_captions_per_s": len(rows) / max(elapsed, 1e-9),
            "parse_captions_per_s": len(rows) / max(parse_s, 1e-9),
            "rejected_by_reason": dict(reasons),
            "cues": dict(cues),
            "types": dict(types),
            "sample_seed": args.sample_seed,
            "sample": [
                {
                    "source_row": row.source_row,
                    "caption": row.caption,
                    "object": negation.chosen_relation.object,
                    "predicate": negation.chosen_relation.predicate,
                    "negated_caption": negation.negated_caption,
                    "exclusion_caption": negation.exclusion_caption,
                }
                for row, negation, _ in sample
            ],
        }
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps(report, indent=2), encoding="utf-8")
        os.replace(tmp, args.json)
    negator.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
