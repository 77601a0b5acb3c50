"""Planning: spec files and data rows in, one `Item` per output image out, before any drawing.

For each spec file (every `*.json` under a SRC folder, recursively, in sorted order, skipping
hidden files and folders, OUT_DIR and the data files; or a SRC file itself) and each row (or once,
without `--data`), planning reads the JSON, fills the template, takes the batch-only `"output"`
object off the spec, decides the output path and format, and computes the cache key. Anything
that goes wrong here is that item's error, with the same pointers `render` would give, so a bad
row is reported without starting a worker.

Output paths are relative to the spec's mirrored folder in OUT_DIR (`src/blog/a.json` →
`OUT_DIR/blog/`), may not be absolute or contain `..`, and no two items may write the same file.
The format is, first found: `output.format`; the extension of `output.path`; `--format`; the
extension of the `--name` result; PNG. A path whose extension names a different format is an error;
a path without an image extension gets the format's (`card` → `card.png`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..encode import Format
from ..errors import Issue, SpecError
from ..limits import DEFAULT_LIMITS, Limits
from ..policy import DEFAULT_POLICY, ImagePolicy
from ..preflight import preflight
from ..resources import resolve_path
from ..spec import load_document
from ..templates import fill
from .manifest import file_digest, item_key
from .rows import Row
from .work import ErrorInfo, Job

__all__ = ["Item", "Options", "discover", "font_digests", "image_digests", "plan"]

_OUTPUT_KEYS = ("format", "quality", "path")
_MAX_NAME = 4096  # characters of an output path (PATH_MAX), also while filling --name
_MAX_PART = 255  # bytes of one name in it (NAME_MAX)
# image formats renderer does not write: a name ending so is a mistake, not a stem to extend
_FOREIGN_SUFFIXES = frozenset(
    {".gif", ".bmp", ".ico", ".heic", ".heif", ".jxl", ".jp2", ".apng", ".psd", ".eps"}
)


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line says for every item."""

    format: str | None = None
    quality: int | None = None
    scale: float = 1.0
    name: str | None = None  # --name template
    variables: Mapping[str, object] | None = None  # --var
    rows: list[Row] | None = None  # --data
    limits: Limits = DEFAULT_LIMITS
    image_policy: ImagePolicy = DEFAULT_POLICY  # --allow-image-dir, -host, -network
    font_dirs: tuple[str, ...] = ()  # --font-dir: the operator's fonts


@dataclass(slots=True)
class Item:
    """One output image to produce, or the reason it cannot be."""

    id: int
    source: str  # the spec file as the user named it
    row: str | None  # the data row's label
    output: str = ""  # relative to OUT_DIR, / separators; "" when planning failed before naming
    job: Job | None = None
    key: str = ""
    error: ErrorInfo | None = None
    row_values: dict[str, object] = field(default_factory=dict)


def discover(sources: list[Path], out_dir: Path, exclude: list[Path]) -> list[tuple[Path, Path]]:
    """Each spec file with its folder relative to the SRC it came from."""
    skip = {p.resolve() for p in exclude}
    out = out_dir.resolve()
    found: list[tuple[Path, Path]] = []
    for src in sources:
        if not src.is_dir():
            found.append((src, Path()))
            continue
        root = src.resolve()
        # Resolving every file costs a few lstat calls each; only needed when something to
        # leave out could be inside this folder.
        check = bool(skip) or out == root or root in out.parents
        for path in sorted(src.rglob("*.json")):
            rel = path.relative_to(src)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if check:
                resolved = path.resolve()
                if resolved in skip or resolved == out or out in resolved.parents:
                    continue
            found.append((path, rel.parent))
    return found


def plan(specs: list[tuple[Path, Path]], options: Options) -> list[Item]:
    items: list[Item] = []
    claimed: dict[str, Item] = {}
    templating = options.rows is not None or options.variables is not None
    for path, folder in specs:
        rows: list[Row | None] = list(options.rows) if options.rows is not None else [None]
        try:
            doc, base = load_document(path, options.limits)
        except SpecError as e:
            items.append(Item(len(items), str(path), None, error=ErrorInfo.of(e)))
            continue
        card = _without_output(doc)
        for n, row in enumerate(rows, start=1):
            item = Item(len(items), str(path), row.label if row else None)
            items.append(item)
            try:
                _plan_one(item, doc, card, base, folder, row, n, templating, options)
            except SpecError as e:
                item.error = ErrorInfo.of(e)
                continue
            first = claimed.setdefault(item.output, item)
            if first is not item:
                where = f"{first.source}" + (f" ({first.row})" if first.row else "")
                msg = f"Two items write {item.output}: this one and {where}."
                item.error, item.job = ErrorInfo("SpecError", msg, (("", msg),)), None
    return items


def _without_output(doc: Any) -> Any:
    """The spec without the batch-only `output` key, which the spec stage must never see."""
    if isinstance(doc, dict) and "output" in doc:
        doc = doc.copy()
        doc.pop("output")
    return doc


def _plan_one(
    item: Item,
    doc: Any,
    card: Any,
    base: Path | None,
    folder: Path,
    row: Row | None,
    n: int,
    templating: bool,
    options: Options,
) -> None:
    """Plan one output. The template is filled here to find the output path, the images and any
    error, then dropped: the job carries the template and the row, and its worker fills again,
    so a batch of rows never holds every filled card in this process at once."""
    if row is not None and row.problem:
        raise SpecError([Issue("", f"{row.problem}.")])  # the report names the row beside it
    variables = {**(options.variables or {}), **(row.values if row else {})}
    # Filled even with no --data or --var: a placeholder's default applies and a missing
    # variable fails the item by name, never printed as it is (a plain spec is unchanged).
    filled = fill(doc, variables, limits=options.limits)
    output = filled.get("output", {}) if isinstance(filled, dict) else {}
    fmt, quality, rel = _output(output, folder, Path(item.source).stem, n, row, variables, options)
    item.output, item.row_values = rel, dict(variables)
    images = image_digests(filled, base, options.image_policy)
    images |= font_digests(filled, base, options.image_policy, options.font_dirs)
    key_options = {"format": fmt.value, "quality": quality, "scale": options.scale, "output": rel}
    # (keyed without variables when none were given: the same keys as before they were filled)
    item.key = item_key(doc, variables if templating else None, key_options, images)
    item.job = Job(
        item.id,
        card,
        fmt.value,
        variables=variables,
        scale=options.scale,
        quality=quality,
        limits=options.limits,
        base_dir=None if base is None else str(base),
        image_policy=options.image_policy,
        fonts=options.font_dirs,
    )


def _output(
    output: Any,
    folder: Path,
    stem: str,
    n: int,
    row: Row | None,
    variables: dict[str, object],
    options: Options,
) -> tuple[Format, int | None, str]:
    """The format, quality and output path (relative to OUT_DIR) of one item."""
    if not isinstance(output, dict):
        raise SpecError([Issue("/output", "Expected an object with format, quality, path.")])
    issues = [
        Issue(f"/output/{k}", f"Unknown property {k!r}. Allowed: {', '.join(_OUTPUT_KEYS)}.")
        for k in output
        if k not in _OUTPUT_KEYS
    ]
    fmt: Format | None = None
    if "format" in output:
        try:
            fmt = Format.parse(str(output["format"]))
        except ValueError as e:
            issues.append(Issue("/output/format", str(e)))
    quality = output.get("quality", options.quality)
    if quality is not None and (
        isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100
    ):
        issues.append(
            Issue("/output/quality", f"Expected an integer 1-100. Received: {quality!r}.")
        )
    if "path" in output:
        pointer, name = "/output/path", output["path"]
    elif options.name is not None:
        pointer = "--name"
        limits = dataclasses.replace(options.limits, max_filled_bytes=_MAX_NAME)
        name = fill(options.name, variables, limits=limits)
    else:
        pointer, name = "", stem + (f"-{n}" if row is not None else "")
    rel = _safe_path(name, pointer, issues)
    if issues:
        raise SpecError(issues)
    suffix_fmt = _suffix_format(rel)
    chosen = fmt or (suffix_fmt if pointer == "/output/path" else None)
    chosen = chosen or (Format.parse(options.format) if options.format else None)
    chosen = chosen or suffix_fmt or Format.PNG
    if suffix_fmt is not None and suffix_fmt is not chosen:
        msg = (
            f"The extension of {rel.name!r} says {suffix_fmt.value}, "
            f"but the format is {chosen.value}."
        )
        raise SpecError([Issue(pointer, msg)])
    if suffix_fmt is None:
        rel = rel.with_name(f"{rel.name}.{chosen.extension}")
    return chosen, quality, (PurePosixPath(folder.as_posix()) / rel).as_posix()


def _suffix_format(rel: PurePosixPath) -> Format | None:
    try:
        return Format.parse(rel.suffix) if rel.suffix else None
    except ValueError:
        return None


def _safe_path(name: Any, pointer: str, issues: list[Issue]) -> PurePosixPath:
    """A relative path that stays inside OUT_DIR, or an issue saying why not."""
    text = str(name) if isinstance(name, str | int | float) else ""
    path = PurePosixPath(text.replace("\\", "/"))
    shown = _short(name if isinstance(name, str) else type(name).__name__)
    if (
        not text.strip()
        or len(text) > _MAX_NAME
        or "\x00" in text
        or path.is_absolute()
        or ".." in path.parts
        or path.name in ("", ".")
    ):
        issues.append(
            Issue(
                pointer,
                f"An output path must be relative, inside the output folder, with no '..', and "
                f"at most {_MAX_NAME} characters. Received: {shown!r}.",
            )
        )
    elif any(ord(c) < 0x20 or c == "\x7f" for c in text):
        issues.append(
            Issue(
                pointer,
                f"An output path may not hold control characters (a line "
                f"break, a tab). Received: {shown!r}.",
            )
        )
    elif path.name.startswith("."):
        issues.append(
            Issue(
                pointer,
                f"The output file's name is empty before its extension "
                f"(a hidden file, which a folder batch skips). Received: {shown!r}.",
            )
        )
    elif any(len(part.encode("utf-8", "surrogatepass")) > _MAX_PART for part in path.parts):
        issues.append(
            Issue(
                pointer,
                f"Each folder and file name of an output path may be at most "
                f"{_MAX_PART} bytes (the file systems' limit). Received: {shown!r}.",
            )
        )
    elif path.suffix.lower() in _FOREIGN_SUFFIXES:
        issues.append(
            Issue(
                pointer,
                f"renderer does not write {path.suffix} images; the formats are "
                f"{', '.join(f.value for f in Format)}. Received: {shown!r}.",
            )
        )
    return path


def _short(text: str) -> str:
    return text if len(text) <= 100 else text[:99] + "…"


def font_digests(
    doc: Any, base: Path | None, policy: ImagePolicy, font_dirs: tuple[str, ...]
) -> dict[str, str]:
    """Digests of the font files a card is drawn with: every `--font-dir` font, and the files
    the card's own `fonts` name (`font:` keys), so a changed brand font redraws its cards."""
    found: dict[str, str] = {}
    if font_dirs:
        from ..fonts import as_library

        for face in as_library(font_dirs).faces_registered():
            found[f"font:{face.origin}#{face.index}"] = face.digest
    for font in preflight(doc).fonts:
        if font.kind == "path":
            try:
                path = resolve_path(font.src, base, policy)
                found[f"font:{font.src}"] = file_digest(path) if path.is_file() else "missing"
            except (OSError, ValueError):
                found[f"font:{font.src}"] = "missing"
    return found


def image_digests(doc: Any, base: Path | None, policy: ImagePolicy) -> dict[str, str]:
    """Digests of the image files a spec names: editing a logo must redraw its cards. Only files
    the render may read are hashed (a refused or special file is the render's error to report:
    hashing /dev/zero would never end)."""
    found: dict[str, str] = {}
    for image in preflight(doc).images:  # stacks' images too
        if image.kind == "path":
            try:
                path = resolve_path(image.src, base, policy)
                found[image.src] = file_digest(path) if path.is_file() else "missing"
            except (OSError, ValueError):
                found[image.src] = "missing"
    return found
