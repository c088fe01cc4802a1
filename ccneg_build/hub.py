"""``ccneg-build push``: validate a built folder as the Hub will read it, then upload it.

Validation runs first. A folder that does not match its manifest (a build that did not
finish publishing, a changed file, files of another publication beside it) is refused with
one line saying to rerun the build, before anything else is looked at; otherwise every
problem gets a line, because a bad card or a ``configs`` path that matches nothing uploads
fine and only breaks later, in the Hub's dataset viewer, where it is slow to diagnose. The
upload itself is resumable: with ``huggingface_hub``'s ``upload_large_folder`` (or, in
releases where it was folded in, ``upload_folder``, which resumes through Xet), rerunning an
interrupted push sends only what is missing. The token comes from ``HF_TOKEN`` or the saved
``huggingface-cli login`` and is never printed, logged or written anywhere.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from ccneg_build.card_parts import CardError, config_patterns, named_data_files, parse_header
from ccneg_core.dataset import DatasetFolderError, incomplete, published_files
from ccneg_core.layout import CARD, MANIFEST, PUBLISHING, REVIEW_DIR
from ccneg_core.argparsing import OneLineParser

#: The Hub refuses single files above 50 GB.
HUB_MAX_FILE_BYTES = 50 * 1000**3
#: The Hub recommends fewer than 10,000 files per folder (the viewer and git slow down past it).
HUB_MAX_FILES_PER_FOLDER = 10_000
#: Local working state of a build or an upload, and the review pages and judgments (which hold
#: a reviewer's marks, not the dataset), that must never be sent.
IGNORE_PATTERNS = (".git/**", ".cache/**", ".ccneg/**", ".work/**", f"{REVIEW_DIR}/**", "**/.tmp*", "**/*.tmp-*",
                   "**/*.partial")

EXIT_REFUSED = 2
EXIT_UNREACHABLE = 1


class HubRefusal(Exception):
    """The folder is not ready for the Hub: the message lists every problem, one per line."""


class HubUnreachable(Exception):
    """The Hub could not be reached or failed during the upload: one line, exit code 1."""


@dataclass
class FolderReport:
    """What validation found: the files that would be sent and the problems that block it."""

    files: list[tuple[str, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A Hub-style ``data_files`` glob (``*`` within a folder, ``**`` across folders)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _ignored(relative: str) -> bool:
    return any(glob_to_regex(p).match(relative) for p in IGNORE_PATTERNS) or relative.startswith(".")


def list_upload_files(folder: Path) -> list[tuple[str, int]]:
    """Every file that would be uploaded (relative POSIX path, size), working state excluded."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            relative = path.relative_to(folder).as_posix()
            if not _ignored(relative):
                found.append((relative, path.stat().st_size))
    return found


def read_card(folder: Path) -> tuple[dict[str, Any], list[str]]:
    """The YAML header of ``README.md`` as a dict, or the problems that prevent reading it."""
    card_path = folder / CARD
    if not card_path.is_file():
        return {}, [f"{card_path}: missing; the Hub needs a dataset card (build the folder with ccneg-build)"]
    try:
        return parse_header(card_path.read_text(encoding="utf-8", errors="replace")), []
    except CardError as problem:
        return {}, [f"{card_path}: {problem}"]


def check_configs(card: dict[str, Any], files: Sequence[str]) -> list[str]:
    """Every ``configs`` glob must match at least one file that will be uploaded."""
    configs = card.get("configs")
    if configs is None:
        return []
    if not isinstance(configs, list):
        return ["README.md: 'configs' must be a list of {config_name, data_files}"]
    problems = []
    for config in configs:
        if not isinstance(config, dict) or "config_name" not in config:
            problems.append(f"README.md: a 'configs' entry has no config_name: {config!r}"[:200])
            continue
        name = config["config_name"]
        pairs = config_patterns(config)
        if not pairs:
            problems.append(f"README.md: config {name!r} lists no data_files")
        for split, pattern in pairs:
            regex = glob_to_regex(pattern)
            if not any(regex.match(f) for f in files):
                problems.append(f"README.md: config {name!r} split {split!r}: data_files {pattern!r} matches no file")
    return problems


def check_sizes(files: Sequence[tuple[str, int]]) -> list[str]:
    """Per-file size and per-folder file-count limits of the Hub."""
    problems = []
    for relative, size in files:
        if size > HUB_MAX_FILE_BYTES:
            problems.append(
                f"{relative}: {size / 1000**3:.1f} GB is over the Hub's {HUB_MAX_FILE_BYTES // 1000**3} GB per-file limit;"
                " rebuild with a smaller --rows-per-file"
            )
    per_folder: dict[str, int] = {}
    for relative, _ in files:
        parent = str(PurePosixPath(relative).parent)
        per_folder[parent] = per_folder.get(parent, 0) + 1
    for parent, count in sorted(per_folder.items()):
        if count > HUB_MAX_FILES_PER_FOLDER:
            problems.append(
                f"{parent}/: {count} files, over the Hub's {HUB_MAX_FILES_PER_FOLDER} per folder;"
                " rebuild with a larger --rows-per-file"
            )
    return problems


def check_publication(folder: Path, uploads: Sequence[str]) -> str | None:
    """The one-line refusal of a folder that is not exactly one complete publication, or None.

    Every file of ``manifest.json`` must be there with its sha256, no publication may be under
    way (a build killed while publishing leaves that mark), no other file may sit in the
    folders it publishes into (another publication's, left by an interrupted build), and the
    card may name only files of the manifest.
    """
    try:
        listed = {entry["path"] for entry in published_files(folder, check_hashes=True)}
    except DatasetFolderError as error:
        return str(error)
    if (folder / PUBLISHING).exists():
        return str(incomplete(folder, "its build was killed while publishing"))
    folders = {path.rpartition("/")[0] for path in listed} - {""}
    stray = [name for name in uploads if name.rpartition("/")[0] in folders and name not in listed]
    if stray:
        return str(incomplete(folder, f"{stray[0]} is not in {MANIFEST}"
                              + (f", nor are {len(stray) - 1} more files" if len(stray) > 1 else "")))
    try:
        named = named_data_files((folder / CARD).read_text(encoding="utf-8", errors="replace")) or []
    except OSError:
        named = []
    for pattern in named:  # an older card's globs must match listed files only
        matched = [name for name in uploads if glob_to_regex(pattern).match(name)] if "*" in pattern else [pattern]
        unlisted = [name for name in matched if name not in listed]
        if unlisted:
            return str(incomplete(folder, f"{CARD} names {unlisted[0]}, which {MANIFEST} does not list"))
    return None


def validate_folder(folder: Path) -> FolderReport:
    """Check the folder as the Hub will read it; problems are listed, not raised."""
    folder = Path(folder)
    report = FolderReport()
    if not folder.is_dir():
        report.problems.append(f"{folder}: not a folder (give the --out folder of a build)")
        return report
    report.files = list_upload_files(folder)
    names = [name for name, _ in report.files]
    refusal = check_publication(folder, names)
    if refusal is not None:
        report.problems.append(refusal)
        return report
    report.card, card_problems = read_card(folder)
    report.problems += card_problems
    if not any(name.endswith(".parquet") for name in names):
        report.problems.append(f"{folder}: no Parquet files to upload")
    report.problems += check_configs(report.card, names)
    report.problems += check_sizes(report.files)
    return report


def resolve_token() -> str | None:
    """``HF_TOKEN`` or the token saved by ``huggingface-cli login``; never printed."""
    from huggingface_hub import get_token

    return get_token()


def push_folder(
    folder: Path,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
) -> FolderReport:
    """Validate, then upload (unless ``dry_run``). Raises :class:`HubRefusal` on any problem."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id or ""):
        raise HubRefusal(f"repo id {repo_id!r}: write it as OWNER/NAME, e.g. my-lab/ccneg-cc3m")
    report = validate_folder(folder)
    if report.problems:
        raise HubRefusal("\n".join(report.problems))
    if dry_run:
        return report
    token = resolve_token()
    if not token:
        raise HubRefusal("no Hugging Face token: set HF_TOKEN or run `huggingface-cli login`, then push again")
    try:
        _upload(folder, repo_id, private, revision, token)
    except Exception as exc:  # noqa: BLE001 - network stacks and Hub errors differ by version
        raise _upload_error(exc, token) from None
    return report


def _upload_error(exc: Exception, token: str) -> Exception:
    """One line for a failed upload: a refused token (exit 2) or an unreachable/failing Hub (exit 1)."""
    from huggingface_hub import constants

    status = getattr(getattr(exc, "response", None), "status_code", None)
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200].replace(token, "***")
    if status in (401, 403):
        return HubRefusal(f"the Hub refused the token (HTTP {status}): check HF_TOKEN or log in again")
    where = getattr(constants, "ENDPOINT", "https://huggingface.co")
    what = f"HTTP {status}" if status else type(exc).__name__
    return HubUnreachable(
        f"cannot upload to the Hugging Face Hub at {where} ({what}: {first_line}); "
        "rerun the same push when it is reachable: files already sent are not sent again"
    )


def _upload(folder: Path, repo_id: str, private: bool, revision: str | None, token: str) -> None:
    """The real upload: create the repo (and branch), then a resumable folder upload."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if revision:
        api.create_branch(repo_id, branch=revision, repo_type="dataset", exist_ok=True)
    ignore = list(IGNORE_PATTERNS) + [".*", "**/.*"]
    large_upload = getattr(api, "upload_large_folder", None)
    if large_upload is not None:
        large_upload(
            repo_id=repo_id, folder_path=str(folder), repo_type="dataset",
            revision=revision, private=private, ignore_patterns=ignore,
        )
    else:  # newer huggingface_hub: upload_folder itself resumes (Xet) and batches commits
        api.upload_folder(
            repo_id=repo_id, folder_path=str(folder), repo_type="dataset", revision=revision,
            ignore_patterns=ignore, commit_message="Upload ccneg dataset",
        )


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size} GB"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="ccneg-build push",
        description=(
            "Upload a built dataset folder to the Hugging Face Hub as a dataset repo. The folder is "
            "validated first (card YAML, configs globs, file sizes); an interrupted push resumes when "
            "rerun. The token comes from HF_TOKEN or `huggingface-cli login` and is never printed."
        ),
    )
    parser.add_argument("out", type=Path, help="the --out folder of a build (or of import-official)")
    parser.add_argument("repo_id", help="the dataset repo, OWNER/NAME (created if missing)")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--revision", default=None, help="branch to push to (created if missing); default main")
    parser.add_argument("--dry-run", action="store_true", help="validate and list the files that would be sent; send nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = push_folder(args.out, args.repo_id, args.private, args.revision, args.dry_run)
    except HubRefusal as refusal:
        for line in str(refusal).splitlines():
            print(f"ccneg-build push: refused: {line}", file=sys.stderr)
        return EXIT_REFUSED
    except HubUnreachable as failure:
        print(f"ccneg-build push: error: {failure}", file=sys.stderr)
        return EXIT_UNREACHABLE
    verb = "would upload" if args.dry_run else "uploaded"
    if args.dry_run:
        for name, size in report.files:
            print(f"{_human(size):>10}  {name}")
    target = f"{args.repo_id}" + (f"@{args.revision}" if args.revision else "")
    print(f"{verb} {len(report.files)} files ({_human(report.total_bytes)}) to https://huggingface.co/datasets/{target}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
