"""`renderer diff`: which cards a change to templates, data or images redraws, for review.

Takes two versions of the same thing, OLD and NEW: two spec files, a template with `--data`
rows, or two folders of specs (every `*.json` below, skipping hidden files, paired by relative
path), or with `--git REF` one path compared with itself at REF (checked out with
`git worktree add --detach` into a temporary folder, removed afterwards). Both sides are drawn
as PNG and compared pixel by pixel with the golden tests' rule (`differing_mask`); the report
folder gets `index.html` (each changed card old | difference | new, with its count of changed
pixels; unchanged cards listed by name), the images it shows, and `summary.json`.

Exit codes, for CI: 0 nothing changed, 1 something did (a card changed, was added or removed,
or fails to render where it did not before), 2 the comparison could not run (bad arguments,
an unreadable path, a git error, a report folder that holds something else).
"""

from __future__ import annotations

import argparse
import html
import io
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from .batch.rows import Row

__all__ = ["DiffError", "Outcome", "Side", "compare_images", "differing_mask", "register", "run"]

EXIT_SAME, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2
MARKER = ".renderer-diff"  # in a report folder: it may be replaced by the next report

_EPILOG = """examples:
  renderer diff old.json new.json -o report/
  renderer diff og.json og-new.json --data posts/*.md -o report/
  renderer diff cards-before/ cards/ -o report/
  renderer diff --git origin/main cards/ -o report/      # the working tree against a commit

exit codes: 0 no card changed, 1 some card changed, was added or removed, or fails to render
where it did not before, 2 the comparison could not run.
"""


class DiffError(Exception):
    """The comparison cannot run at all (exit 2)."""


@dataclass(frozen=True, slots=True)
class Side:
    """One version of one card: a spec file, and the data row that fills it."""

    spec: Path
    row: Row | None = None


@dataclass(slots=True)
class Outcome:
    """What became of one card."""

    name: str
    status: str  # changed | unchanged | added | removed | failed
    changed: bool
    pixels: int = 0  # pixels that differ (same size only)
    total: int = 0  # pixels in the card
    note: str = ""  # a size change, or why a side failed
    images: dict[str, bytes] = field(default_factory=dict)  # old, new, diff: PNG bytes


# --- the pixel rule ----------------------------------------------------------------------------


def differing_mask(expected: Image.Image, actual: Image.Image, channel: int = 1) -> np.ndarray:
    """Boolean H×W array, True where a pixel differs: a channel of the two 8-bit RGBA pixels is
    off by more than `channel`, unless both are fully transparent (an invisible pixel has no
    colour). The golden tests use this rule (tests/golden.py)."""
    import numpy as np

    if expected.size != actual.size:
        msg = f"sizes differ: expected {expected.size}, actual {actual.size}"
        raise ValueError(msg)
    a = np.asarray(expected.convert("RGBA"), dtype=np.int16)
    b = np.asarray(actual.convert("RGBA"), dtype=np.int16)
    off = (np.abs(a - b) > channel).any(axis=-1)
    both_clear = (a[..., 3] == 0) & (b[..., 3] == 0)
    return np.asarray(off & ~both_clear)


def compare_images(old: bytes, new: bytes) -> tuple[int, int, bytes | None, str]:
    """(differing pixels, pixels, the difference image as PNG, note) for two PNGs. Cards of
    different sizes differ everywhere; their difference image is None."""
    from PIL import Image

    with Image.open(io.BytesIO(old)) as a, Image.open(io.BytesIO(new)) as b:
        a.load()
        b.load()
        if a.size != b.size:
            note = f"size {a.width}×{a.height} → {b.width}×{b.height}"
            return b.width * b.height, b.width * b.height, None, note
        mask = differing_mask(a, b)
        count = int(mask.sum())
        return count, a.width * a.height, _difference_png(b, mask) if count else None, ""


def _difference_png(new: Image.Image, mask: np.ndarray) -> bytes:
    """The new card faded to white, with every differing pixel in red."""
    import numpy as np
    from PIL import Image

    faded = Image.blend(new.convert("RGB"), Image.new("RGB", new.size, "white"), 0.8)
    pixels = np.array(faded)
    pixels[mask] = (220, 38, 38)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG")
    return out.getvalue()


# --- what to compare ---------------------------------------------------------------------------


def _rows(path: Path) -> list[Row]:
    """The rows of one data file; an unreadable file stops the comparison."""
    from .batch.rows import DataError, read_rows

    try:
        return read_rows([path])
    except DataError as e:
        raise DiffError(str(e)) from None


def _specs(folder: Path, out: Path, skip: list[Path]) -> dict[str, Path]:
    """Every spec under `folder` by its relative path, as `renderer batch` finds them (hidden
    files, the report folder and the data files left out)."""
    from .batch.plan import discover

    return {(rel / path.name).as_posix(): path for path, rel in discover([folder], out, skip)}


Pairs = Iterator[tuple[str, Side | None, Side | None]]
DataPairs = list[tuple[Path | None, Path | None]]


def pairs(old: Path, new: Path, data: DataPairs, out: Path) -> Pairs:
    """(name, old side, new side) of every card; a side is None where the card does not exist.
    `data` pairs each data file's old and new version (None where one does not exist); `out`
    is the report folder, never read as specs."""
    if old.is_dir() != new.is_dir() and old.exists() and new.exists():
        msg = f"{old} and {new} must both be folders or both be files"
        raise DiffError(msg)
    if new.is_dir() or old.is_dir():
        skip = [p for pair in data for p in pair if p is not None]
        olds = _specs(old, out, skip) if old.is_dir() else {}
        news = _specs(new, out, skip) if new.is_dir() else {}
        for name in sorted(olds.keys() | news.keys()):
            yield from _with_rows(name, olds.get(name), news.get(name), data)
        return
    yield from _with_rows(
        new.name, old if old.exists() else None, new if new.exists() else None, data
    )


def _with_rows(name: str, old: Path | None, new: Path | None, data: DataPairs) -> Pairs:
    if not data:
        yield name, Side(old) if old else None, Side(new) if new else None
        return
    for old_data, new_data in data:
        old_rows = _rows(old_data) if old_data else []
        new_rows = _rows(new_data) if new_data else []
        for i in range(max(len(old_rows), len(new_rows))):
            o = old_rows[i] if i < len(old_rows) else None
            n = new_rows[i] if i < len(new_rows) else None
            row = n or o
            assert row is not None  # i is below the longer list's length
            label = row.label
            yield (
                f"{name} · {label}",
                Side(old, o) if old and o else None,
                Side(new, n) if new and n else None,
            )


# --- drawing and comparing ---------------------------------------------------------------------


def draw(side: Side, scale: float) -> bytes | str:
    """The card as PNG, or why it cannot be drawn (every issue, one per line)."""
    from .api import render
    from .errors import RenderError
    from .spec import load_document
    from .templates import fill

    try:
        doc, base = load_document(side.spec)
        if side.row is not None:
            if side.row.problem:
                return f"{side.row.label}: {side.row.problem}"
            doc = fill(doc, side.row.values, row=side.row.label)
        return render(doc, "png", scale=scale, base_dir=base)
    except (RenderError, ValueError) as e:
        issues = getattr(e, "issues", ())
        return "\n".join(str(i) for i in issues) or str(e)


def judge(name: str, old: Side | None, new: Side | None, scale: float) -> Outcome:
    before = draw(old, scale) if old else None
    after = draw(new, scale) if new else None
    images = {k: v for k, v in (("old", before), ("new", after)) if isinstance(v, bytes)}
    if isinstance(before, str) or isinstance(after, str):
        note = "\n".join(
            f"{side}: {why}"
            for side, why in (("old", before), ("new", after))
            if isinstance(why, str)
        )
        return Outcome(name, "failed", before != after, note=note, images=images)
    if before is None:
        return Outcome(name, "added", True, images=images)
    if after is None:
        return Outcome(name, "removed", True, images=images)
    count, total, diff, note = compare_images(before, after)
    if diff is not None:
        images["diff"] = diff
    changed = count > 0
    return Outcome(name, "changed" if changed else "unchanged", changed, count, total, note, images)


# --- git ---------------------------------------------------------------------------------------


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        msg = f"git {args[0]} failed: {e}"
        raise DiffError(msg) from None
    if done.returncode != 0:
        msg = f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}"
        raise DiffError(msg)
    return done.stdout


@contextmanager
def checkout(ref: str, inside: Path) -> Iterator[tuple[Path, Path]]:
    """(the repository's top folder, a temporary checkout of `ref`), removed on exit."""
    where = inside if inside.is_dir() else inside.parent
    top = Path(_git(["rev-parse", "--show-toplevel"], where).strip()).resolve()
    with tempfile.TemporaryDirectory(prefix="renderer-diff-") as tmp:
        tree = Path(tmp) / "tree"
        _git(["worktree", "add", "--detach", "--quiet", str(tree), ref], top)
        try:
            yield top, tree
        finally:
            try:
                _git(["worktree", "remove", "--force", str(tree)], top)
            except DiffError:
                shutil.rmtree(tree, ignore_errors=True)
                subprocess.run(["git", "worktree", "prune"], cwd=top, check=False)


def _at(path: Path, top: Path, tree: Path) -> Path:
    """Where `path` (in the working tree) is in the checkout of the other commit."""
    try:
        return tree / path.resolve().relative_to(top)
    except ValueError:
        msg = f"{path} is not inside the git repository at {top}"
        raise DiffError(msg) from None


# --- the report --------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#111827}
h2{font-size:16px;margin:2rem 0 .5rem}
.cards{display:flex;gap:.75rem;flex-wrap:wrap;align-items:flex-start}
figure{margin:0;flex:1 1 30%;min-width:14rem}
figure img{max-width:100%;border:1px solid #d1d5db}
figcaption{color:#6b7280}
pre{background:#fef2f2;padding:.5rem;white-space:pre-wrap}
.status{font-weight:600}
"""


def _figure(folder: str, outcome: Outcome, which: str, caption: str) -> str:
    if which not in outcome.images:
        return ""
    src = html.escape(f"{folder}/{which}.png")
    return (
        f'<figure><img src="{src}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _section(n: int, outcome: Outcome) -> str:
    folder = f"cards/{n:04d}"
    if outcome.status == "changed" and outcome.note:
        what = f"changed: {outcome.note}"
    elif outcome.status == "changed":
        share = 100 * outcome.pixels / outcome.total
        what = f"changed: {outcome.pixels:,} of {outcome.total:,} pixels ({share:.2f} %)"
    else:
        what = outcome.status
    parts = [
        f"<section><h2>{html.escape(outcome.name)}</h2>",
        f'<p class="status">{html.escape(what)}</p>',
    ]
    if outcome.status == "failed":
        parts.append(f"<pre>{html.escape(outcome.note)}</pre>")
    parts.append('<div class="cards">')
    parts.append(_figure(folder, outcome, "old", "old"))
    parts.append(_figure(folder, outcome, "diff", "changed pixels in red"))
    parts.append(_figure(folder, outcome, "new", "new"))
    parts.append("</div></section>")
    return "".join(parts)


def _prepare(out: Path) -> None:
    """An empty report folder: new, empty, or an earlier report (which is replaced)."""
    if out.exists() and not out.is_dir():
        msg = f"{out} exists and is not a folder"
        raise DiffError(msg)
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            msg = f"{out} holds other files; give an empty folder or an earlier report's"
            raise DiffError(msg)
        for name in ("cards", "index.html", "summary.json"):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("A renderer diff report; the next report replaces it.\n")


def write_report(outcomes: list[Outcome], out: Path, title: str) -> None:
    from .files import write_atomic

    _prepare(out)
    shown = [o for o in outcomes if o.status != "unchanged"]
    same = [o for o in outcomes if o.status == "unchanged"]
    for n, outcome in enumerate(shown, start=1):
        for which, png in outcome.images.items():
            path = out / "cards" / f"{n:04d}" / f"{which}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, png)
    counts = _counts(outcomes)
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no cards"
    body = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(summary)}.</p>",
        *(_section(n, o) for n, o in enumerate(shown, start=1)),
    ]
    if same:
        items = "".join(f"<li>{html.escape(o.name)}</li>" for o in same)
        body.append(f"<h2>Unchanged ({len(same)})</h2><ul>{items}</ul>")
    body.append("</body></html>\n")
    write_atomic(out / "index.html", "".join(body).encode("utf-8"))
    data = {
        "counts": counts,
        "cards": [
            {"name": o.name, "status": o.status, "changed": o.changed, "pixels": o.pixels}
            | ({"note": o.note} if o.note else {})
            for o in outcomes
        ],
    }
    write_atomic(out / "summary.json", (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def _counts(outcomes: list[Outcome]) -> dict[str, int]:
    counts = dict.fromkeys(("changed", "added", "removed", "failed", "unchanged"), 0)
    for o in outcomes:
        counts[o.status] += 1
    return counts


# --- the command -------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "diff",
        help="render two versions of cards and report the ones whose pixels changed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
        description="Render OLD and NEW (two spec files, a template with --data, or two "
        "folders), or with --git REF one PATH at REF and in the working tree, and write an HTML "
        "report of the cards whose pixels changed.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="OLD NEW, or one PATH with --git")
    p.add_argument("-o", "--output", required=True, metavar="REPORT_DIR", help="report folder")
    p.add_argument("--git", metavar="REF", help="compare PATH at this commit with the working tree")
    p.add_argument(
        "--data",
        nargs="+",
        action="extend",
        default=[],
        metavar="ROWS",
        help="data rows filling the templates (.csv, .json, .jsonl, .md)",
    )
    p.add_argument("--scale", type=float, default=1.0, help="device-pixel ratio (default 1)")


def run(args: argparse.Namespace) -> int:
    try:
        outcomes = _outcomes(args)
        title = "renderer diff: " + (
            f"{args.paths[0]} at {args.git} → working tree"
            if args.git
            else f"{args.paths[0]} → {args.paths[1]}"
        )
        write_report(outcomes, Path(args.output), title)
    except DiffError as e:
        print(f"renderer diff: {e}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as e:
        print(f"renderer diff: cannot write {args.output}: {e.strerror}", file=sys.stderr)
        return EXIT_ERROR
    counts = _counts(outcomes)
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no cards"
    print(f"renderer diff: {summary}; report in {Path(args.output) / 'index.html'}")
    return EXIT_CHANGED if any(o.changed for o in outcomes) else EXIT_SAME


def _outcomes(args: argparse.Namespace) -> list[Outcome]:
    wanted = 1 if args.git else 2
    if len(args.paths) != wanted:
        msg = "give one PATH with --git REF" if args.git else "give two paths: OLD NEW"
        raise DiffError(msg)
    if not (0 < args.scale <= 4):
        msg = f"--scale must be > 0 and at most 4. Received: {args.scale:g}."
        raise DiffError(msg)
    news = [Path(p) for p in args.data]
    out = Path(args.output)
    for path in [Path(p) for p in args.paths[wanted - 1 :]] + news:
        if not path.exists():
            msg = f"cannot read {path}: no such file or folder"
            raise DiffError(msg)
    if not args.git:
        old, new = Path(args.paths[0]), Path(args.paths[1])
        if not old.exists():
            msg = f"cannot read {old}: no such file or folder"
            raise DiffError(msg)
        data: DataPairs = [(p, p) for p in news]
        return [judge(*pair, args.scale) for pair in pairs(old, new, data, out)]
    new = Path(args.paths[0])
    with checkout(args.git, new.resolve()) as (top, tree):
        old = _at(new, top, tree)
        olds = [_at(p, top, tree) for p in news]
        data = [(o if o.exists() else None, n) for o, n in zip(olds, news, strict=True)]
        return [judge(*pair, args.scale) for pair in pairs(old, new, data, out)]
