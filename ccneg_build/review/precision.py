"""Precision of a dataset from a reviewer's judgments, with 95% Wilson score intervals.

Precision is ``ok / judged`` over the accepted rows a reviewer marked ``ok`` or ``bad``
(``skip`` marks are not judgments). The Wilson interval is used rather than the normal
approximation because review samples are small and precision is often near 1, where the
normal interval leaves [0, 1] or collapses to a point. Rows are grouped overall and by
negation type, cue and generator; judged rejected rows (``--split rejected`` pages) are
reported apart, by reason code, where ``ok`` means "the row was good after all".

Judgment files are untrusted input: a value other than ok/bad/skip or an id that is not in
the folder costs only that entry, which is counted and listed with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccneg_build.review.sample import read_column_values
from ccneg_core.intervals import wilson_interval  

#: Two-sided 95% normal quantile.
VERDICTS = ("ok", "bad")
IGNORED = ("skip",)
#: Columns of accepted rows that judgments are grouped by (``generator`` is a label).
GROUPS = ("negation_type", "negation_cue", "generator")


class JudgmentsError(ValueError):
    """The judgments file cannot be used at all (missing, not JSON, not an object)."""


@dataclass
class Tally:
    ok: int = 0
    judged: int = 0

    def add(self, verdict: str) -> None:
        self.judged += 1
        self.ok += verdict == "ok"

    def as_dict(self) -> dict[str, Any]:
        interval = wilson_interval(self.ok, self.judged)
        return {"ok": self.ok, "judged": self.judged,
                "precision": self.ok / self.judged if self.judged else None,
                "ci95": list(interval) if interval else None}


@dataclass
class PrecisionReport:
    """Everything ``--judgments`` prints and keeps."""

    overall: Tally = field(default_factory=Tally)
    groups: dict[str, dict[str, Tally]] = field(default_factory=lambda: {g: {} for g in GROUPS})
    rejected: dict[str, Tally] = field(default_factory=dict)
    entries: int = 0
    skipped: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": self.overall.as_dict(),
            "by": {g: {k: t.as_dict() for k, t in sorted(v.items())} for g, v in self.groups.items()},
            "rejected_rows_by_reason": {k: t.as_dict() for k, t in sorted(self.rejected.items())},
            "entries": self.entries,
            "skipped": self.skipped,
            "not_counted": self.problems,
        }


def load_judgments(path: Path) -> dict[str, Any]:
    """The ``{id: "ok" | "bad"}`` object of a judgments file (raises :class:`JudgmentsError`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise JudgmentsError(f"--judgments {path}: no such file (export it from the review page)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise JudgmentsError(f"--judgments {path}: cannot read it ({err})") from None
    try:
        value = json.loads(text)
    except ValueError as err:
        raise JudgmentsError(f"--judgments {path}: not JSON ({err}); export it again from the review page") from None
    if not isinstance(value, dict):
        raise JudgmentsError(f"--judgments {path}: expected a JSON object {{id: \"ok\" | \"bad\"}}, "
                             f"found a {type(value).__name__}")
    return value


def generator_label(generator: Any) -> str:
    """``backend/model`` of a row's generator struct (``unknown`` when absent)."""
    if not isinstance(generator, dict) or not generator.get("backend"):
        return "unknown"
    label = f"{generator.get('backend')}/{generator.get('model')}"
    return label + (f" (fallback from {generator['fallback_from']})" if generator.get("fallback_from") else "")


def _rows_by_id(out: Path, split: str, ids: set[str], columns: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    try:
        for row in read_column_values(out, split, columns):
            if row["id"] in ids:
                found[row["id"]] = row
    except ValueError:  # the folder has no rows of that kind (e.g. nothing rejected)
        pass
    return found


def tally(judgments: dict[str, Any], accepted: dict[str, dict[str, Any]],
          rejected: dict[str, dict[str, Any]]) -> PrecisionReport:
    """Count judgments against the rows they name; pure, so it is tested on hand-made rows."""
    report = PrecisionReport(entries=len(judgments))
    for row_id, verdict in judgments.items():
        if verdict in IGNORED:
            report.skipped += 1
            continue
        if verdict not in VERDICTS:
            report.problems.append({"id": str(row_id), "reason": "bad_value",
                                    "detail": f"value {str(verdict)[:40]!r} is not \"ok\" or \"bad\""})
            continue
        if row_id in accepted:
            row = accepted[row_id]
            report.overall.add(verdict)
            values = {"negation_type": row.get("negation_type") or "unknown",
                      "negation_cue": row.get("negation_cue") or "unknown",
                      "generator": generator_label(row.get("generator"))}
            for group, value in values.items():
                report.groups[group].setdefault(value, Tally()).add(verdict)
        elif row_id in rejected:
            reason = rejected[row_id].get("reason") or "unknown"
            report.rejected.setdefault(reason, Tally()).add(verdict)
        else:
            report.problems.append({"id": str(row_id), "reason": "unknown_id",
                                    "detail": "no row of this folder has this id (a page of another dataset?)"})
    return report


def precision_report(out: Path, judgments: dict[str, Any]) -> PrecisionReport:
    """Join judgments with the folder's accepted and rejected rows and count them."""
    ids = {str(k) for k in judgments}
    accepted = _rows_by_id(out, "accepted", ids, ["id", "negation_type", "negation_cue", "generator"])
    rejected = _rows_by_id(out, "rejected", ids - set(accepted), ["id", "reason"])
    return tally(judgments, accepted, rejected)


def _line(label: str, t: Tally, width: int) -> str:
    data = t.as_dict()
    if not t.judged:
        return f"  {label:<{width}} {'0/0':>9}"
    low, high = data["ci95"]
    return (f"  {label:<{width}} {f'{t.ok}/{t.judged}':>9} {100 * data['precision']:6.1f}%"
            f"  [{100 * low:5.1f}, {100 * high:5.1f}]")


def format_report(report: PrecisionReport) -> str:
    """The text ``ccneg-build review --judgments`` prints (and keeps)."""
    labels = ["all accepted rows"] + [f"{g} {k}" for g, v in report.groups.items() for k in v]
    labels += [f"reason {k}" for k in report.rejected]
    width = max(len(label) for label in labels) + 2
    lines = ["precision = ok / judged, with 95% Wilson intervals", _line("all accepted rows", report.overall, width)]
    for group, values in report.groups.items():
        for value, t in sorted(values.items()):
            lines.append(_line(f"{group} {value}", t, width))
    if report.rejected:
        lines.append("rejected rows (ok = the row was good after all)")
        lines += [_line(f"reason {k}", t, width) for k, t in sorted(report.rejected.items())]
    lines.append(f"judgments: {report.entries} entries, {report.overall.judged + sum(t.judged for t in report.rejected.values())}"
                 f" counted, {report.skipped} skipped, {len(report.problems)} not counted")
    for problem in report.problems[:10]:
        lines.append(f"  not counted: {problem['id']}: {problem['reason']}: {problem['detail']}")
    if len(report.problems) > 10:
        lines.append(f"  ... and {len(report.problems) - 10} more (all listed in the kept JSON)")
    return "\n".join(lines)
