"""The README is part of the product: its spec reference, commands and examples must stay true."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from renderer.docs import spec_reference, update_readme

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def test_spec_reference_matches_schema() -> None:
    assert spec_reference() in README, "run: python -m renderer.docs --write README.md"
    assert update_readme(README) == README


def test_every_schema_property_is_documented() -> None:
    from renderer.spec import schema

    s = schema()
    for kind in ("text", "image", "tag", "divider"):
        for prop in s["$defs"][kind]["properties"]:
            if prop != "type":
                assert f"| `{prop}` |" in README, (kind, prop)


def test_images_in_readme_exist() -> None:
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (ROOT / target).is_file(), target


def test_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert 'python3 -m pip install -e ".[dev]" && python3 -m pytest' in README
    assert 'python3 -m pip install -q -e ".[dev]"' in ci
    assert "python3 -m pytest" in ci


def test_console_script_declared() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["scripts"]["renderer"] == "renderer.cli:run"  # main, then a quick exit
    assert project["requires-python"] == ">=3.10"


# --- the web-app examples, run exactly as written -----------------------------------------------


def _example(name: str, tmp_path: Path) -> Any:
    """The README's fenced block after `<!-- readme-example: NAME -->`, imported as a module."""
    found = re.search(rf"<!-- readme-example: {name} -->\n```python\n(.*?)\n```", README, re.S)
    assert found, f"README has no example marked {name}"
    path = tmp_path / f"readme_{name}_app.py"
    path.write_text(found.group(1) + "\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _red_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (230, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


def _cards(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """A card with a data-URI image, and cards naming a server file by absolute path, by a path
    relative to the working folder, and by '..'."""
    secret = tmp_path / "private" / "photo.png"
    secret.parent.mkdir()
    secret.write_bytes(_red_png())
    (tmp_path / "beside.png").write_bytes(_red_png())

    def card(src: str) -> dict[str, Any]:
        image = {"type": "image", "src": src, "x": 0, "y": 0, "width": 20, "height": 20}
        text = {"type": "text", "text": "Hi", "x": 24, "y": 2, "fontSize": 12}
        return {"width": 60, "height": 20, "components": [image, text]}

    uri = "data:image/png;base64," + base64.b64encode(_red_png()).decode()
    return {
        "ok": card(uri),
        "absolute": card(str(secret)),
        "etc": card("/etc/hostname"),
        "relative": card("beside.png"),
        "dotdot": card("../" * 8 + str(secret).lstrip("/")),
    }


def _check(post: Any, tmp_path: Path) -> None:
    """`post(body) -> (status, content_type, body bytes)` against a web-app example."""
    cards = _cards(tmp_path)
    status, content_type, body = post(json.dumps(cards["ok"]).encode())
    assert (status, content_type) == (200, "image/png")
    with Image.open(io.BytesIO(body)) as im:
        rgb = im.convert("RGB")
    assert rgb.size == (60, 20)
    assert rgb.getpixel((10, 10)) == (230, 20, 30)  # the data-URI image is drawn
    for name in ("absolute", "etc", "relative", "dotdot"):
        status, content_type, body = post(json.dumps(cards[name]).encode())
        assert status == 400, (name, status)
        assert content_type.startswith("application/json")
        answer = json.loads(body)
        assert answer["error"] == "Invalid card"
        (issue,) = answer["details"]["issues"]
        assert issue["pointer"] == "/components/0/src"
        assert "Cannot load image" in issue["message"]
    status, _, body = post(b'{"width": 0}')
    assert status == 400
    pointers = {i["pointer"] for i in json.loads(body)["details"]["issues"]}
    assert pointers == {"/width", "/height", "/components"}


def test_flask_example_runs_as_written_and_refuses_server_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative path must not read the working folder either
    client = _example("flask", tmp_path).app.test_client()

    def post(body: bytes) -> tuple[int, str, bytes]:
        response = client.post("/card.png", data=body, content_type="application/json")
        return response.status_code, response.content_type, response.get_data()

    _check(post, tmp_path)


def test_fastapi_example_runs_as_written_and_refuses_server_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Served by uvicorn on a loopback port, spoken to over real HTTP."""
    import httpx
    import uvicorn
    from server_process import served_in_thread

    monkeypatch.chdir(tmp_path)
    app = _example("fastapi", tmp_path).app
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    with (
        served_in_thread(config) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):

        def post(body: bytes) -> tuple[int, str, bytes]:
            headers = {"Content-Type": "application/json"}
            response = client.post("/card.png", content=body, headers=headers)
            return response.status_code, response.headers["content-type"], response.content

        _check(post, tmp_path)


def test_intro_states_no_figure_of_its_own() -> None:
    """Timings and memory are stated once, in Performance (which the benchmarks regenerate):
    the intro links there instead of repeating numbers that drift apart."""
    intro = README[: README.index("## Two commands")]
    assert "](#performance)" in intro
    figures = re.findall(r"\d[\d.,–-]*\s?(?:ms|MB|GB)\b|\d[\d.–-]*×(?!\d)", intro)
    assert figures == [], figures


def test_first_command_leaves_the_clone_clean() -> None:
    """`renderer render examples/blog.json -o blog.png` run in a clone writes a file git
    ignores, so `git status` stays clean."""
    import shutil
    import subprocess

    (command,) = re.findall(r"renderer render examples/blog\.json -o (\S+)", README)[:1]
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "-q", "--no-index", command], check=False
    )
    assert ignored.returncode == 0, f"{command} would be left untracked in the clone"


def test_render_signature_in_readme_is_the_real_one() -> None:
    """The Python API section spells out `render`'s parameters; they must be the real ones (and
    so `render_async`'s, which shares them)."""
    import ast
    import inspect

    import renderer

    found = re.search(r"^- `(render\(spec.*?\)) -> bytes`$", README, re.M)
    assert found, "README's Python API section lost render's signature line"
    shown = ast.parse(f"def {found.group(1)}: ...").body[0]
    assert isinstance(shown, ast.FunctionDef)
    real = inspect.signature(renderer.render).parameters
    args = shown.args
    names = [a.arg for a in args.args] + [a.arg for a in args.kwonlyargs]
    assert names == list(real)
    positional = [a.arg for a in args.args][len(args.args) - len(args.defaults) :]
    defaults = dict(zip(positional, args.defaults, strict=True))
    keywords = zip(args.kwonlyargs, args.kw_defaults, strict=True)
    defaults.update({a.arg: d for a, d in keywords if d is not None})
    assert set(defaults) == {n for n, p in real.items() if p.default is not p.empty}
    for name, node in defaults.items():
        expected = real[name].default
        if isinstance(node, ast.Name):  # DEFAULT_LIMITS, DEFAULT_POLICY
            assert getattr(renderer, node.id) is expected, name
        else:
            assert ast.literal_eval(node) == expected, name
