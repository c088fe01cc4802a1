"""The ``import-official`` and ``export-official`` command lines (parse, call, summarise)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence
from ccneg_core.argparsing import OneLineParser
from ccneg_build.outdir import OutputFolderError
from ccneg_build.publish import NothingAccepted
from ccneg_build.official.importer import import_official
from ccneg_core.released_format import ReleasedFormatError
from ccneg_build.official.exporter import ExportError, export_official

EXIT_OK, EXIT_USAGE = 0, 2


def _error(command: str, message: str) -> int:
    print(f"ccneg-build {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


class _RowProgress:
    """A row progress bar opened on the first report, once the file's row count is known."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None

    def update(self, rows: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="row", desc="import-official", file=sys.stderr)
        self._bar.update(rows)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def import_command(argv: Sequence[str]) -> int:
    parser = OneLineParser(
        prog="ccneg-build import-official",
        description=(
            "Convert the released CC-Neg files (DIR/ccneg_preprocessed.pt and DIR/ccneg_images/...) into a "
            "ccneg dataset folder: Parquet shards with images, the release's split (the last 40,000 rows "
            "are eval, as the release's loaders slice them, so a file of fewer rows is all eval), the "
            "decomposition fields, a manifest and a dataset card. The negated caption is stored as the "
            "release scores it (commas removed); the original annotations are kept under official/. The "
            ".pt file is read with torch.load(weights_only=True). Rerunning the same command resumes an "
            "interrupted import."
        ),
    )
    parser.add_argument("folder", type=Path, metavar="DIR", help="folder holding ccneg_preprocessed.pt and ccneg_images/")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created; resumed if it exists)")
    parser.add_argument("--eval-size", type=int, default=None, metavar="N",
                        help="number of last rows that are eval (default: 40,000, the release's rule)")
    parser.add_argument("--check-images", action="store_true",
                        help="decode every image and reject rows whose file is corrupt (slower)")
    parser.add_argument("--shard-size", type=int, default=1000, help="rows per shard, the unit of resuming")
    parser.add_argument("--rows-per-file", type=int, default=50_000, help="rows per published Parquet file")
    parser.add_argument("--overwrite", action="store_true", help="replace a folder made with other settings")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(list(argv))

    bar = _RowProgress(enabled=not args.no_progress)
    try:
        report = import_official(args.folder, args.out, args.shard_size, args.rows_per_file, args.eval_size,
                                 args.check_images, args.overwrite, progress=bar.update)
    except (ReleasedFormatError, OutputFolderError, NothingAccepted) as error:
        return _error("import-official", str(error))
    finally:
        bar.close()
    counts = report.manifest["counts"]
    print(f"import-official: {counts['rows_read']} rows read, {counts['accepted']} kept "
          f"({', '.join(f'{k} {v}' for k, v in counts['splits'].items())}), {counts['rejected']} rejected"
          + (f" ({', '.join(f'{k} {v}' for k, v in report.manifest['reject_reasons'].items())})"
             if report.manifest["reject_reasons"] else ""))
    print(f"  split: {report.manifest['split_rule']}")
    if counts["rows_read"] and not counts["splits"].get("train"):
        print("  note: the file has no row before its last 40,000, so every row is eval (the release's rule); "
              "--eval-size N makes only the last N rows eval")
    print(f"  output: {report.out} (data/, rejected/, splits/, official/, manifest.json, README.md)")
    return EXIT_OK


def export_command(argv: Sequence[str]) -> int:
    parser = OneLineParser(
        prog="ccneg-build export-official",
        description=(
            "Write a ccneg dataset folder (from ccneg-build or import-official) in the released CC-Neg "
            "layout: TO/ccneg_preprocessed.pt and TO/ccneg_images/cc3m_subset_images_extracted_final/<key>.jpg, "
            "train rows first and eval rows last, so code written for the release reads it. Rows without "
            "an image are skipped (the format needs one). A folder from import-official comes back field for field."
        ),
    )
    parser.add_argument("folder", type=Path, metavar="OUT", help="a ccneg dataset folder (with data/*.parquet)")
    parser.add_argument("--to", type=Path, required=True, metavar="DIR", help="folder to write the release layout into")
    parser.add_argument("--image-path-prefix", default=None,
                        help="prefix of the stored image paths (default: the absolute path of DIR); e.g. "
                             "/workspace/datasets/cc3m/ to reproduce the release's own strings")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing ccneg_preprocessed.pt in DIR")
    args = parser.parse_args(list(argv))

    try:
        report = export_official(args.folder, args.to, args.image_path_prefix, args.overwrite)
    except (ExportError, ReleasedFormatError) as error:
        return _error("export-official", str(error))
    print(f"export-official: {report.rows} rows written to {args.to} (the last {report.eval_rows} are eval)"
          + (f"; {report.skipped_no_image} rows without an image skipped" if report.skipped_no_image else "")
          + (f"; {report.reencoded} images converted to JPEG" if report.reencoded else ""))
    if report.eval_rows != 40_000:
        print(f"  note: the release's loaders take the last 40,000 rows as eval; set their num_ccneg_eval_samples "
              f"to {report.eval_rows} (import-official: --eval-size {report.eval_rows}; ccneg-bench: "
              f"--released-eval-size {report.eval_rows})")
    return EXIT_OK
