"""The `renderer` command as a user runs it: a real subprocess, real files, exit codes."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from renderer import Format
from renderer.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOOD = {
    "width": 200,
    "height": 100,
    "components": [{"type": "divider", "length": 100, "x": 50, "y": 50, "color": "#ff0000"}],
}
BAD = {
    "width": 200,
    "height": 100,
    "components": [{"type": "text", "text": "x", "fontsize": 3}, {"type": "divider", "length": -1}],
}


def run(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "renderer", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd or ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [
        (".png", b"\x89PNG"),
        (".jpg", b"\xff\xd8\xff"),
        (".webp", b"RIFF"),
        (".tif", b"II*\x00"),
        (".svg", b"<svg"),
    ],
)
def test_render_picks_format_from_extension(tmp_path: Path, suffix: str, magic: bytes) -> None:
    out = tmp_path / f"card{suffix}"
    result = run("render", str(EXAMPLES / "blog.json"), "-o", str(out))
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_bytes().startswith(magic)


def test_render_example_resolves_image_relative_to_spec(tmp_path: Path) -> None:
    out = tmp_path / "blog.png"
    result = run("render", "examples/blog.json", "-o", str(out), cwd=ROOT)
    assert result.returncode == 0, result.stderr.decode()
    im = Image.open(out).convert("RGB")
    assert im.size == (1200, 630)
    # The avatar (amber background) fills its circle at (80, 480, 96 × 96).
    assert im.getpixel((128, 490)) == (245, 158, 11)


def test_stdin_to_stdout_with_format_and_scale() -> None:
    result = run("render", "-", "--format", "png", "--scale", "2", stdin=json.dumps(GOOD).encode())
    assert result.returncode == 0, result.stderr.decode()
    im = Image.open(io.BytesIO(result.stdout)).convert("RGB")
    assert im.size == (400, 200)
    assert im.getpixel((150, 103)) == (255, 0, 0)


def test_quick_exit_delivers_the_whole_image_to_a_pipe(tmp_path: Path) -> None:
    """`render` ends the process with `os._exit` after flushing: a 70 KB PNG (more than a pipe
    holds, so the write waits for the reader) still arrives whole, equal to `render()`'s, with
    the warnings on standard error and the exit code kept (3 under --strict)."""
    import renderer

    spec = json.loads((EXAMPLES / "blog.json").read_text())
    spec["components"].append({"type": "text", "text": "\U0001d11e\U000f0000", "y": 600})
    path = tmp_path / "card.json"
    path.write_text(json.dumps(spec))
    for image in (EXAMPLES / "blog.json").parent.iterdir():
        if image.suffix in (".png", ".jpg", ".svg"):
            (tmp_path / image.name).write_bytes(image.read_bytes())
    result = run("render", str(path), "--strict")
    assert result.returncode == 3, result.stderr.decode()
    assert b"/components/5: no bundled font has" in result.stderr
    expected = renderer.render(spec, format="png", base_dir=tmp_path)
    assert len(expected) > 65536
    assert result.stdout == expected


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        ([], set()),  # `import renderer` alone
        (["--help"], set()),
        (["validate", str(EXAMPLES / "blog.json")], {"uharfbuzz"}),  # family names, shaping none
    ],
)
def test_commands_that_draw_nothing_load_no_drawing_library(
    argv: list[str], allowed: set[str]
) -> None:
    """The package's names are imported on first use, so `renderer --help` starts without
    NumPy, Pillow, cairo or HarfBuzz (0.35 -> 0.10 s here) and `validate` with HarfBuzz
    alone (the font library it checks family names in); a render still gets cairocffi's
    pre-parsed declarations (`tests/test_cairolib.py`)."""
    heavy = {"numpy", "PIL", "cairocffi", "uharfbuzz", "renderer.raster"}
    code = (
        "import sys, json, renderer, renderer.cli\n"
        f"argv = {argv!r}\n"
        "try:\n"
        "    code = renderer.cli.main(argv) if argv else 0\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "print(json.dumps([code, sorted(m for m in sys.modules)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    status, loaded = json.loads(out.stdout.splitlines()[-1])
    assert status in (0, None)
    assert (heavy & set(loaded)) == (heavy & allowed)


def test_the_package_names_resolve_when_first_asked_for() -> None:
    script = (
        "import renderer; spec = {'width': 8, 'height': 8, "
        "'components': [{'type': 'divider', 'length': 4}]}; "
        "print(renderer.render(spec)[:4], renderer.Format.PNG.value, 'render' in dir(renderer))"
    )
    drawn = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert drawn.stdout.split() == ["b'\\x89PNG'", "png", "True"]


def test_invalid_spec_exits_2_and_names_every_pointer(tmp_path: Path) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps(BAD))
    out = tmp_path / "bad.png"
    result = run("render", str(spec), "-o", str(out))
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "/components/0/fontsize" in err
    assert "Did you mean 'fontSize'" in err
    assert "/components/1/length" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [spec], "no partial or temporary file is left behind"


def test_missing_image_exits_1(tmp_path: Path) -> None:
    spec = tmp_path / "img.json"
    spec.write_text(
        json.dumps(
            {
                "width": 100,
                "height": 100,
                "components": [{"type": "image", "src": "nope.png", "width": 10, "height": 10}],
            }
        )
    )
    result = run("render", str(spec), "-o", str(tmp_path / "x.png"))
    assert result.returncode == 1
    assert "/components/0/src" in result.stderr.decode()


def test_validate_reports_each_spec(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(GOOD))
    bad.write_text(json.dumps(BAD))
    result = run("validate", str(good), str(bad))
    assert result.returncode == 2
    out = result.stdout.decode()
    assert f"{good}: ok" in out
    assert f"{bad}: /components/0/fontsize:" in out
    result = run("validate", str(good), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"spec": str(good), "valid": True, "issues": []}
    result = run("validate", str(bad), "--json")
    pointers = [i["pointer"] for i in json.loads(result.stdout)["issues"]]
    assert pointers == ["/components/0/fontsize", "/components/1/length"]


def test_validate_refuses_what_render_refuses_over_the_limits(tmp_path: Path) -> None:
    """A card over a bound judged on the card (characters shaped: each size an "auto" text
    tries) fails plain validate as it fails render, exit 2 at the same pointer; one over a
    bound judged on the layout (glyphs drawn) fails `validate --resources`, which lays it out."""
    auto = {"type": "text", "text": "x" * 5000, "fontSize": "auto", "frameWidth": 400}
    shaped = {"width": 1200, "height": 630, "components": [{**auto, "maxLines": 2}] * 3}
    dense = {"type": "text", "text": "x" * 4998, "fontSize": 8, "x": 0, "frameWidth": 4000}
    glyphs = {
        "width": 4000,
        "height": 4000,
        "components": [{**dense, "y": 2 * i} for i in range(12)],
    }
    for name, spec, plain in (("shaped", shaped, 2), ("glyphs", glyphs, 0)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(spec))
        rendered = run("render", str(path), "-o", str(tmp_path / f"{name}.png"))
        assert rendered.returncode == 2
        pointer = rendered.stderr.decode().split(": ")[1]
        assert pointer.startswith("/components/")
        checked = run("validate", str(path))
        assert checked.returncode == plain, checked.stdout.decode()
        checked = run("validate", str(path), "--resources", "--json")
        assert checked.returncode == 2, checked.stdout.decode()
        assert json.loads(checked.stdout)["issues"][0]["pointer"] == pointer
    assert not list(tmp_path.glob("*.png"))


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert run("render", str(EXAMPLES / "blog.json"), "-o", str(tmp_path / "x.bmp")).returncode == 2
    assert (
        run(
            "render", str(EXAMPLES / "blog.json"), "-o", str(tmp_path / "x.jpg"), "--quality", "500"
        ).returncode
        == 2
    )
    assert run("frobnicate").returncode == 2


def test_formats_and_fonts_list_what_is_available() -> None:
    formats = run("formats").stdout.decode().split()
    for name in ("svg", "png", "jpeg", "webp", "tiff", "avif"):
        assert name in formats
    fonts = run("fonts").stdout.decode()
    for family in (
        "Inter",
        "Noto Sans",
        "Noto Sans SC",
        "Noto Sans TC",
        "Poppins",
        "Roboto",
        "Playfair Display",
    ):
        assert f"\n{family} " in f"\n{fonts}"


@pytest.mark.parametrize("command", [[], ["render"], ["validate"]])
def test_help_has_examples(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: renderer" in result.stdout.decode()
    assert "examples:" in result.stdout.decode()


# --- outputs: standard output, missing folders, options that do not apply ---------------------


def test_report_dash_goes_to_standard_output(tmp_path: Path) -> None:
    out = tmp_path / "card.png"
    result = run("render", str(EXAMPLES / "blog.json"), "-o", str(out), "--report", "-")
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["components"][0]["lines"] == ["RELEASE NOTES"]
    assert out.read_bytes().startswith(b"\x89PNG")
    assert not (ROOT / "-").exists()
    assert not (tmp_path / "-").exists()


def test_image_and_report_both_on_standard_output_is_refused(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["-o", "-", "--report", "-"], ["--report", "-"]):  # -o defaults to -
        assert main(["render", str(EXAMPLES / "blog.json"), "-f", "svg", *args]) == 2
        out, err = capfd.readouterr()
        assert out == ""
        assert "both write to standard output" in err
    assert list(tmp_path.iterdir()) == []


def test_output_folders_are_created_and_nothing_half_written_is_left(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "dir" / "x.png"
    report = tmp_path / "reports" / "deep" / "x.json"
    result = run("render", str(EXAMPLES / "blog.json"), "-o", str(out), "--report", str(report))
    assert result.returncode == 0, result.stderr.decode()
    with Image.open(out) as im:
        assert im.size == (1200, 630)
    assert json.loads(report.read_text("utf-8"))["components"][0]["type"] == "tag"
    assert [p.name for p in out.parent.iterdir()] == ["x.png"]  # no temporary file left
    # A folder that cannot be made (a file is in the way) fails cleanly: exit 1, no file.
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("render", str(EXAMPLES / "blog.json"), "-o", str(blocker / "x.png"))
    assert result.returncode == 1
    assert f"cannot write {blocker / 'x.png'}" in result.stderr.decode()


def test_output_to_a_pipe_writes_through_it_and_leaves_it_a_pipe(tmp_path: Path) -> None:
    """`-o /dev/stdout` or a named pipe: renaming a finished file over it (how a regular
    output is written whole) would replace the pipe or device with a regular file (as root,
    `-o /dev/null` would replace /dev/null). Such a target is written to as it is."""
    fifo = tmp_path / "card.png"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run("render", str(EXAMPLES / "hello.json"), "-o", str(fifo))
    reader.join(timeout=30)  # (a reader still waiting means nothing was written to the pipe)
    assert result.returncode == 0, result.stderr.decode()
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.png"]  # no temporary left
    with Image.open(io.BytesIO(got[0])) as im:
        assert im.format == "PNG"


def test_ctrl_c_ends_a_render_with_130_and_no_traceback(tmp_path: Path) -> None:
    """SIGINT while a render waits (here for its spec on standard input, which never comes):
    one line, the shell's 130, no traceback, and no output file, whole or half."""
    out = tmp_path / "out" / "card.png"
    proc = subprocess.Popen(
        [sys.executable, "-m", "renderer", "render", "-", "-o", str(out)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(2)  # imported, and reading
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    assert "interrupted" in err.decode()
    assert not out.parent.exists()


@pytest.mark.parametrize("flag", ["-o", "--report"])
def test_render_refuses_to_write_over_its_own_spec(tmp_path: Path, flag: str) -> None:
    spec = tmp_path / "card.json"
    spec.write_text(json.dumps(GOOD))
    args = ["-o", str(tmp_path / "card.png")] if flag == "--report" else []
    result = run("render", str(spec), *args, flag, str(tmp_path / "." / "card.json"), "-f", "svg")
    assert result.returncode == 2
    assert "is the spec being rendered" in result.stderr.decode()
    assert json.loads(spec.read_text()) == GOOD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json"]


@pytest.mark.parametrize("target", ["card.png", "card.svg", "card.tif"])
def test_quality_with_a_lossless_format_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    out = tmp_path / target
    assert main(["render", str(EXAMPLES / "blog.json"), "-o", str(out), "--quality", "80"]) == 2
    err = capsys.readouterr().err
    assert "--quality applies to jpeg, webp, avif only" in err
    assert f"the output is {Format.parse(out.suffix).value} (-o {out})" in err
    assert not out.exists()


def test_compression_small_is_honoured(tmp_path: Path) -> None:
    fast, small = tmp_path / "fast.png", tmp_path / "small.png"
    for out, level in ((fast, "fast"), (small, "small")):
        result = run("render", str(EXAMPLES / "blog.json"), "-o", str(out), "--compression", level)
        assert result.returncode == 0, result.stderr.decode()
    assert small.stat().st_size < fast.stat().st_size
    with Image.open(fast) as a, Image.open(small) as b:  # small: every channel within 10 levels
        exact = np.asarray(a.convert("RGBA"), dtype=np.int16)
        moved = np.abs(np.asarray(b.convert("RGBA"), dtype=np.int16) - exact)
    assert moved.max() <= 10


def test_timeout_stops_the_render_with_exit_1_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "card.json"
    text = {"type": "text", "text": "Lorem ipsum", "fontSize": 20}
    spec.write_text(json.dumps({"width": 200, "height": 100, "components": [text] * 20}))
    out = tmp_path / "card.png"
    result = run("render", str(spec), "-o", str(out), "--timeout", "0.000001")
    assert result.returncode == 1
    assert "timeout of 1e-06 s" in result.stderr.decode()
    assert not out.exists()
    assert "Traceback" not in result.stderr.decode()
    assert run("render", str(spec), "-o", str(out), "--timeout", "60").returncode == 0
    bad = run("render", str(spec), "-o", str(out), "--timeout", "-1")
    assert bad.returncode == 2
    assert "timeout must be" in bad.stderr.decode()
