"""Rebuild the bundled font collection in ``fonts/`` from pinned Fontsource npm packages.

Why this exists: the renderer must never download anything at run time, and HarfBuzz needs
plain sfnt bytes, not woff2. Fontsource publishes every family we use as woff2 files split by
unicode-range subset, so this script fetches each package at a pinned version (``npm pack``,
which downloads a tarball without installing), checks the tarball against its pinned sha256,
decompresses the chosen woff2 files to TrueType with fontTools, copies the package's licence
and writes ``manifest.json`` (and ``README.md``) describing every face. The runtime then needs
neither brotli nor network access, only the files written here.

Output (paths relative to ``fonts/``):
    <FamilyDir>/<original-stem>.ttf   one face per subset x style (x weight for static families)
    <FamilyDir>/LICENSE               the package's licence text (SIL OFL 1.1)
    manifest.json                     families -> package, licence, category, faces
    README.md                         summary table, generated from the same data

Variable families use Fontsource's ``wght`` files only (one variation axis, fvar/gvar kept);
the ``opsz``/``wdth``/``standard`` files are skipped. Static families (Poppins) use every
weight x style x subset woff2 file.

Build-time requirements: ``npm`` on PATH and ``pip install fonttools brotli``. The output is
byte-identical across runs (no timestamps are recalculated, everything is sorted).

Usage: ``python fonts/build.py`` (from any directory).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

# fontTools needs the brotli module to decompress woff2; check for both up front.
if importlib.util.find_spec("fontTools") is None or importlib.util.find_spec("brotli") is None:
    msg = "fonts/build.py needs build-time deps: pip install fonttools brotli"
    raise SystemExit(msg)

from fontTools.ttLib import TTFont

FONTS_DIR = Path(__file__).resolve().parent
MANIFEST_VERSION = 1
# (CSS weight, OS/2 usWeightClass) pairs accepted for static Thin/ExtraLight faces.
LEGACY_WEIGHTS = frozenset({(100, 250), (200, 275)})


@dataclass(frozen=True, slots=True)
class Package:
    """One pinned Fontsource package and the family it provides."""

    family: str  # CSS family name, e.g. "Noto Sans SC"
    name: str  # npm package name
    version: str  # exact pinned version
    sha256: str  # hex sha256 of the pinned tarball, as npm pack writes it
    variable: bool  # True: take the wght-axis files; False: static per-weight files

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def family_dir(self) -> str:
        return self.family.replace(" ", "")


# Pinned versions. To upgrade: change the version, rebuild once to read the new tarball's
# sha256 from the error message, check it (`npm pack <pkg>@<ver>`; sha256sum) and pin it.
PACKAGES: tuple[Package, ...] = (
    Package(
        "Inter",
        "@fontsource-variable/inter",
        "5.3.0",
        "d26710dd38e7217484a1d47ee76c024977ec550548876f26d06ed1844af09a14",
        variable=True,
    ),
    Package(
        "Noto Sans",
        "@fontsource-variable/noto-sans",
        "5.3.0",
        "2cd97f3573b6e8ceaaa54ddf5df3f8e64d89a5bb31954013700d36a7ec01dcd6",
        variable=True,
    ),
    Package(
        "Noto Sans SC",
        "@fontsource-variable/noto-sans-sc",
        "5.3.1",
        "95a11c5bbacd9995d94fc8cf964ee687307aacf20957ca6a4a16077519388163",
        variable=True,
    ),
    Package(
        "Noto Sans TC",
        "@fontsource-variable/noto-sans-tc",
        "5.3.1",
        "8b71fb2cedb863e26379ee441c9d3ee56bbbbb4b4d2d508df23f54ab164dbf6d",
        variable=True,
    ),
    Package(
        "Poppins",
        "@fontsource/poppins",
        "5.3.0",
        "f4779bb12acaaa07dc7dd8da82ab0f61515fea2f30664535f7a249eeb0dd5bcf",
        variable=False,
    ),
    Package(
        "Roboto",
        "@fontsource-variable/roboto",
        "5.3.0",
        "03510ae8a8159543ebef8d35280cf6821099ef3f61d31858458ac8bf1a8e983e",
        variable=True,
    ),
    Package(
        "Playfair Display",
        "@fontsource-variable/playfair-display",
        "5.3.0",
        "5d9a6609ccc3c3bcba68c5b66981cce7d731bf5bb6e64a2ca6045ab05e527788",
        variable=True,
    ),
    Package(
        "Noto Sans Arabic",
        "@fontsource-variable/noto-sans-arabic",
        "5.3.0",
        "b6c7b9001f81e4df07a4f2501ad1b710f8faf2ed0cccc753bd3162a358b08ce5",
        variable=True,
    ),
    Package(
        "Noto Sans Hebrew",
        "@fontsource-variable/noto-sans-hebrew",
        "5.3.0",
        "85bb3375f5176f977bb84349d0e3160a59e4da389caf790e63f7c16257dfe6de",
        variable=True,
    ),
    Package(
        "Noto Sans KR",
        "@fontsource-variable/noto-sans-kr",
        "5.3.1",
        "9bbb1134818e567b21024f0bf842b53a9419de67608febbf18b23072385c8bfa",
        variable=True,
    ),
    Package(
        "Noto Sans JP",
        "@fontsource-variable/noto-sans-jp",
        "5.3.1",
        "0a8f7d31c6c091e31977c801313b18e692312c37d9fe9a6d779b876e8046dbfc",
        variable=True,
    ),
    Package(
        "Noto Sans Thai",
        "@fontsource-variable/noto-sans-thai",
        "5.3.0",
        "9b3fb4ac74ddc4ec1064a606735dba08bc639450869e08a08a0115bfba964705",
        variable=True,
    ),
)


@dataclass(frozen=True, slots=True)
class Unpacked:
    """The parts of a package tarball that the build reads."""

    metadata: dict[str, Any]  # package/metadata.json
    unicode: dict[str, str]  # package/unicode.json: subset key -> CSS unicode-range
    license: bytes  # package/LICENSE
    woff2: dict[str, bytes]  # file name under package/files/ -> woff2 bytes


@dataclass(frozen=True, slots=True)
class FaceFile:
    """A woff2 file selected for the collection, with what its name says."""

    name: str  # woff2 file name, e.g. "noto-sans-sc-12-wght-normal.woff2"
    subset: str  # "latin", "latin-ext", or a slice number such as "12"
    style: str  # "normal" | "italic"
    weight: int | None  # static weight from the file name, None for variable files


def fail(message: str) -> NoReturn:
    text = f"fonts/build.py: {message}"
    raise SystemExit(text)


def npm_pack(package: Package, dest: Path) -> Path:
    """Download the pinned tarball into dest and check it against the pinned sha256."""
    npm = shutil.which("npm")
    if npm is None:
        fail("npm is not on PATH")
    cmd = [npm, "pack", "--json", "--silent", "--pack-destination", str(dest), package.spec]
    result = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=dest)
    info: list[dict[str, Any]] = json.loads(result.stdout)
    tarball = dest / str(info[0]["filename"])
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != package.sha256:
        fail(f"{package.spec}: tarball sha256 {digest} != pinned {package.sha256}")
    return tarball


def unpack(tarball: Path) -> Unpacked:
    """Read the needed members straight from the tarball (nothing else is extracted)."""
    members: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            wanted = member.name.startswith("package/files/") and member.name.endswith(".woff2")
            wanted |= member.name in {
                "package/metadata.json",
                "package/unicode.json",
                "package/LICENSE",
            }
            if member.isfile() and wanted:
                handle = tar.extractfile(member)
                assert handle is not None
                members[member.name] = handle.read()
    woff2 = {
        name.removeprefix("package/files/"): data
        for name, data in members.items()
        if name.startswith("package/files/")
    }
    return Unpacked(
        metadata=json.loads(members["package/metadata.json"]),
        unicode=json.loads(members["package/unicode.json"]),
        license=members["package/LICENSE"],
        woff2=woff2,
    )


def select_faces(package: Package, unpacked: Unpacked) -> list[FaceFile]:
    """Pick the woff2 files for the collection from their Fontsource file names."""
    font_id = re.escape(unpacked.metadata["id"])
    if package.variable:
        pattern = re.compile(rf"{font_id}-(?P<subset>.+)-wght-(?P<style>normal|italic)\.woff2")
    else:
        pattern = re.compile(
            rf"{font_id}-(?P<subset>.+)-(?P<weight>[1-9]00)-(?P<style>normal|italic)\.woff2"
        )
    faces: list[FaceFile] = []
    for name in sorted(unpacked.woff2):
        match = pattern.fullmatch(name)
        if match is None:
            continue
        weight = match.groupdict().get("weight")
        faces.append(
            FaceFile(
                name=name,
                subset=match["subset"],
                style=match["style"],
                weight=int(weight) if weight else None,
            )
        )
    check_complete(package, unpacked, faces)
    return faces


def check_complete(package: Package, unpacked: Unpacked, faces: list[FaceFile]) -> None:
    """Every subset x style (x weight) the package declares must have exactly one face."""
    meta = unpacked.metadata
    subsets = {key.strip("[]") for key in unpacked.unicode}
    weights: list[int | None] = [None] if package.variable else list(meta["weights"])
    expected = {(s, st, w) for s in subsets for st in meta["styles"] for w in weights}
    found = [(f.subset, f.style, f.weight) for f in faces]
    if len(found) != len(set(found)) or set(found) != expected:
        missing = sorted(expected - set(found), key=str)
        extra = sorted(set(found) - expected, key=str)
        fail(f"{package.spec}: faces do not match metadata (missing {missing}, extra {extra})")


def unicode_range_key(unpacked: Unpacked, subset: str) -> str:
    return subset if subset in unpacked.unicode else f"[{subset}]"


def parse_unicode_range(css: str) -> list[list[int]]:
    """Parse a CSS unicode-range value into merged, sorted inclusive [lo, hi] ranges.

    Handles ``U+XXXX``, ``U+XXXX-YYYY`` and wildcard ``U+4??`` (= U+400-4FF) forms.
    """
    spans: list[tuple[int, int]] = []
    for token in css.split(","):
        token = token.strip()
        if not token:
            continue
        if not token.upper().startswith("U+"):
            fail(f"bad unicode-range token {token!r}")
        body = token[2:]
        if "-" in body:
            lo_text, hi_text = body.split("-", 1)
            lo, hi = int(lo_text, 16), int(hi_text, 16)
        elif "?" in body:
            lo, hi = int(body.replace("?", "0"), 16), int(body.replace("?", "F"), 16)
        else:
            lo = hi = int(body, 16)
        if lo > hi:
            fail(f"bad unicode-range token {token!r}")
        spans.append((lo, hi))
    merged: list[list[int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def number(value: float) -> int | float:
    """Axis values as ints when integral (wght 100.0 -> 100), so the JSON stays tidy."""
    return int(value) if float(value).is_integer() else float(value)


def convert_face(
    package: Package, unpacked: Unpacked, face: FaceFile, out_path: Path
) -> dict[str, Any]:
    """Decompress one woff2 face to TTF at out_path, check it, and return its manifest entry."""
    font = TTFont(io.BytesIO(unpacked.woff2[face.name]), recalcTimestamp=False)
    if "glyf" not in font:
        fail(f"{face.name}: expected TrueType outlines (glyf) for a .ttf file")
    if not font.getBestCmap():
        fail(f"{face.name}: empty cmap")
    axes: dict[str, list[int | float]] = {}
    if package.variable:
        if "fvar" not in font or "gvar" not in font:
            fail(f"{face.name}: variable face without fvar/gvar")
        for axis in font["fvar"].axes:
            axes[axis.axisTag] = [number(axis.minValue), number(axis.maxValue)]
        declared = unpacked.metadata["variable"]["wght"]
        wght = axes.get("wght")
        if wght is None or wght != [number(float(declared["min"])), number(float(declared["max"]))]:
            fail(f"{face.name}: fvar wght {wght} differs from metadata.json {declared}")
        weight = [int(wght[0]), int(wght[1])]
    else:
        if "fvar" in font:
            fail(f"{face.name}: static face has fvar")
        # Thin/ExtraLight fonts often carry 250/275 (an old Windows GDI workaround);
        # the file name's CSS weight is what Fontsource serves, so that one is recorded.
        os2_weight = font["OS/2"].usWeightClass
        if os2_weight != face.weight and (face.weight, os2_weight) not in LEGACY_WEIGHTS:
            fail(f"{face.name}: OS/2 weight {os2_weight} != {face.weight}")
        assert face.weight is not None
        weight = [face.weight, face.weight]
    font.flavor = None
    out_path.parent.mkdir(parents=True, exist_ok=True)
    font.save(out_path)
    font.close()
    key = unicode_range_key(unpacked, face.subset)
    return {
        "file": out_path.relative_to(FONTS_DIR).as_posix(),
        "subset": face.subset,
        "style": face.style,
        "weight": weight,
        "axes": axes,
        "ranges": parse_unicode_range(unpacked.unicode[key]),
    }


def build_family(package: Package, unpacked: Unpacked) -> dict[str, Any]:
    family_dir = FONTS_DIR / package.family_dir
    if family_dir.exists():
        shutil.rmtree(family_dir)
    family_dir.mkdir()
    (family_dir / "LICENSE").write_bytes(unpacked.license)
    faces = [
        convert_face(package, unpacked, face, family_dir / face.name.replace(".woff2", ".ttf"))
        for face in select_faces(package, unpacked)
    ]
    faces.sort(key=lambda entry: entry["file"])
    return {
        "package": package.spec,
        "license": f"{package.family_dir}/LICENSE",
        "category": unpacked.metadata["category"],
        "faces": faces,
    }


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def readme(families: dict[str, dict[str, Any]], emoji: dict[str, Any]) -> str:
    """The README table, generated so it always matches manifest.json."""
    rows = []
    total = 0
    for package in PACKAGES:
        entry = families[package.family]
        faces = entry["faces"]
        size = dir_size(FONTS_DIR / package.family_dir)
        total += size
        named = sorted({f["subset"] for f in faces if not f["subset"].isdigit()})
        slices = sum(1 for s in {f["subset"] for f in faces} if s.isdigit())
        subsets = ", ".join(named + ([f"{slices} numbered CJK slices"] if slices else []))
        styles = ", ".join(sorted({f["style"] for f in faces}, reverse=True))
        lo = min(f["weight"][0] for f in faces)
        hi = max(f["weight"][1] for f in faces)
        kind = f"variable wght {lo}–{hi}" if package.variable else f"static {lo}–{hi}"
        rows.append(
            f"| {package.family} | `{package.spec}` | {subsets} | {kind}; {styles} "
            f"| {len(faces)} | {mib(size)} | OFL-1.1 (`{entry['license']}`) |"
        )
    emoji_size = dir_size(FONTS_DIR / EMOJI.family_dir)
    total += emoji_size + len(manifest_text(families, emoji).encode())
    rows.append(
        f"| Twemoji (colour emoji) | `{EMOJI.spec}` | {emoji['count']} SVGs in "
        f"`{EMOJI_ARCHIVE}` | — | — | {mib(emoji_size)} | CC-BY 4.0 graphics, MIT package "
        f"(`{emoji['license']}`) |"
    )
    return "\n".join(
        [
            "# Bundled fonts",
            "",
            "Generated by `fonts/build.py`; do not edit by hand (edit the script and rebuild).",
            "",
            "Plain TrueType (sfnt) files decompressed from the woff2 files of pinned Fontsource",
            "npm packages, so the renderer needs neither network access nor brotli at run time.",
            "Variable families use Fontsource's `wght`-axis files (fvar/gvar kept); Poppins is",
            "static (one file per weight × style × subset). Every face is one unicode-range",
            "subset; `manifest.json` lists each face's file, subset, style, weight range, axes",
            "and inclusive codepoint ranges (from the package's `unicode.json`).",
            "",
            "| family | package | subsets | weights; styles | faces | size | licence |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Total (font files, licences, manifest): {mib(total)}.",
            "",
            "## Rebuild",
            "",
            "```sh",
            "python -m venv /tmp/fontvenv && /tmp/fontvenv/bin/pip install fonttools brotli",
            "/tmp/fontvenv/bin/python fonts/build.py   # needs npm on PATH; any working directory",
            "```",
            "",
            "The script runs `npm pack` for each pinned version (table at the top of the script),",
            "checks each tarball's sha256 against the pinned one, rewrites every family",
            "folder, `manifest.json` and this README. Two runs give byte-identical output.",
            "",
        ]
    )


# Colour emoji: Twemoji's SVGs (graphics CC-BY 4.0 by Twitter, Inc. and contributors; package
# MIT), stored as one deterministic zip so the runtime reads only the few files a text uses.
EMOJI = Package(
    "Twemoji",
    "@twemoji/svg",
    "15.0.0",
    "1d2907557a422c7c4e3feca50ef915c39da1db3d76b4a4d7e73fb59bce4403c3",
    False,
)
EMOJI_ARCHIVE = "Twemoji/twemoji.zip"
EMOJI_LICENSE = """Twemoji graphics: Copyright 2019 Twitter, Inc and other contributors.
Licensed under CC-BY 4.0: https://creativecommons.org/licenses/by/4.0/
Packaged as @twemoji/svg; the package's own licence follows.

"""


def build_emoji(tmp: Path) -> dict[str, Any]:
    """Pack every Twemoji SVG into fonts/Twemoji/twemoji.zip (fixed dates, sorted names)."""
    import zipfile

    svgs: dict[str, bytes] = {}
    licence = b""
    with tarfile.open(npm_pack(EMOJI, tmp), "r:gz") as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is None:
                continue
            if member.name.endswith(".svg"):
                svgs[member.name.removeprefix("package/")] = handle.read()
            elif member.name == "package/license":
                licence = handle.read()
    out = FONTS_DIR / EMOJI.family_dir
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    with zipfile.ZipFile(FONTS_DIR / EMOJI_ARCHIVE, "w") as archive:
        for name in sorted(svgs):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, svgs[name], compresslevel=9)
    (out / "LICENSE").write_bytes(EMOJI_LICENSE.encode() + licence)
    return {
        "package": EMOJI.spec,
        "archive": EMOJI_ARCHIVE,
        "license": "Twemoji/LICENSE",
        "count": len(svgs),
        "viewBox": [0, 0, 36, 36],
    }


def manifest_text(families: dict[str, dict[str, Any]], emoji: dict[str, Any]) -> str:
    manifest = {"version": MANIFEST_VERSION, "families": families, "emoji": emoji}
    return json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    families: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="fontsource-") as tmp:
        for package in PACKAGES:
            print(f"{package.spec} -> fonts/{package.family_dir}/", file=sys.stderr)
            unpacked = unpack(npm_pack(package, Path(tmp)))
            families[package.family] = build_family(package, unpacked)
        print(f"{EMOJI.spec} -> fonts/{EMOJI_ARCHIVE}", file=sys.stderr)
        emoji = build_emoji(Path(tmp))
    (FONTS_DIR / "manifest.json").write_text(manifest_text(families, emoji), encoding="utf-8")
    (FONTS_DIR / "README.md").write_text(readme(families, emoji), encoding="utf-8")
    faces = sum(len(f["faces"]) for f in families.values())
    print(f"wrote {faces} faces in {len(families)} families", file=sys.stderr)


if __name__ == "__main__":
    main()
