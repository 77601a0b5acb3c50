"""The switches the image errors point to, as a user runs them: a real `renderer` subprocess
fetching from a real HTTP server on a loopback port (started here), real files.

Loopback is refused by default (as every private address is), so each switch is shown refused
without it, with a message naming the switch, and accepted with it, on `render`, `batch` and
`validate --resources`. Also: files outside the spec's folder and `--allow-image-dir`, what
`validate --resources` reports and exits with, and that a message about the whole spec is not
prefixed with `/:`.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from server_process import ROOT, ServerProcess, free_port, serve

from renderer.cli import main
from renderer.errors import Issue

RED = (230, 20, 30)


def _png(colour: tuple[int, int, int] = RED) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, "PNG")
    return buf.getvalue()


class _Images(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = _png()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def image_url() -> Iterator[str]:
    """A PNG served on 127.0.0.1 by this test process."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/logo.png"
    httpd.shutdown()
    httpd.server_close()


def card(src: str) -> dict[str, Any]:
    image = {"type": "image", "src": src, "x": 0, "y": 0, "width": 20, "height": 20}
    return {"width": 40, "height": 20, "background": "#ffffff", "components": [image]}


def write(path: Path, spec: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def run(
    *args: str | Path, stdin: bytes | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "renderer", *map(str, args)],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def is_red_card(path: Path) -> bool:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
        return bool(rgb.getpixel((10, 10)) == RED and rgb.getpixel((30, 10)) == (255, 255, 255))


# --- --allow-image-host and --allow-image-network ---------------------------------------------

SWITCHES = {
    "host": ("--allow-image-host", "127.0.0.1"),
    "network": ("--allow-image-network", "127.0.0.0/8"),
}


def test_render_refuses_loopback_naming_the_switches(image_url: str, tmp_path: Path) -> None:
    spec = write(tmp_path / "card.json", card(image_url))
    out = tmp_path / "card.png"
    result = run("render", spec, "-o", out)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "/components/0/src" in err
    assert "a loopback address" in err
    for named in ("--allow-image-host", "--allow-image-network", "ImagePolicy(allow_hosts="):
        assert named in err, (named, err)
    assert not out.exists()


@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_render_fetches_with_the_switch(image_url: str, tmp_path: Path, switch: str) -> None:
    spec = write(tmp_path / "card.json", card(image_url))
    out = tmp_path / "card.png"
    before = _Images.hits
    result = run("render", spec, "-o", out, *SWITCHES[switch])
    assert result.returncode == 0, result.stderr.decode()
    assert is_red_card(out)
    assert _Images.hits == before + 1


def test_batch_takes_the_switches(image_url: str, tmp_path: Path) -> None:
    src, out = tmp_path / "cards", tmp_path / "out"
    write(src / "a.json", card(image_url))
    write(src / "b.json", card(image_url.replace("logo", "other")))
    refused = run("batch", src, "-o", out, "--jobs", "1")
    assert refused.returncode == 1
    assert "--allow-image-host" in refused.stderr.decode()
    assert not (out / "a.png").exists()
    for switch, jobs in zip(sorted(SWITCHES), ("2", "1"), strict=True):  # the policy travels
        result = run("batch", src, "-o", out / switch, "--jobs", jobs, *SWITCHES[switch])
        assert result.returncode == 0, result.stderr.decode()
        assert is_red_card(out / switch / "a.png")
        assert is_red_card(out / switch / "b.png")


def test_validate_resources_fetches_under_the_same_policy(
    image_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path / "card.json", card(image_url))
    before = _Images.hits
    assert main(["validate", str(spec)]) == 0
    assert capsys.readouterr().out == f"{spec}: ok\n"
    assert _Images.hits == before, "plain validate reads no image"
    assert main(["validate", str(spec), "--resources"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{spec}: /components/0/src: Cannot load image:")
    assert "--allow-image-network" in out
    for switch in sorted(SWITCHES):
        assert main(["validate", str(spec), "--resources", *SWITCHES[switch]]) == 0
        assert capsys.readouterr().out == f"{spec}: ok (every source readable)\n"
    assert _Images.hits > before


@pytest.mark.parametrize(
    ("switch", "value", "says"),
    [
        ("--allow-image-network", "10.0.0.0/33", "--allow-image-network: "),
        ("--allow-image-dir", "no/such/folder", "--allow-image-dir no/such/folder: no such folder"),
    ],
)
def test_a_bad_switch_value_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], switch: str, value: str, says: str
) -> None:
    spec = write(tmp_path / "card.json", card("logo.png"))
    for command in (
        ["render", str(spec), "-o", str(tmp_path / "x.png")],
        ["validate", str(spec), "--resources"],
        ["batch", str(spec), "-o", str(tmp_path / "out")],
    ):
        assert main([*command, switch, value]) == 2, command
        assert says in capsys.readouterr().err, command
    assert not (tmp_path / "x.png").exists()


# --- --allow-image-dir --------------------------------------------------------------------------


def test_files_outside_the_spec_folder_need_allow_image_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cards, shared = tmp_path / "cards", tmp_path / "shared"
    shared.mkdir()
    (shared / "logo.png").write_bytes(_png())
    (cards / "own").mkdir(parents=True)
    (cards / "own" / "logo.png").write_bytes(_png())
    spec = write(cards / "card.json", card(str(shared / "logo.png")))
    relative = write(cards / "relative.json", card("../shared/logo.png"))
    beside = write(cards / "beside.json", card("own/logo.png"))
    out = tmp_path / "out"
    for path in (spec, relative):
        assert main(["render", str(path), "-o", str(out / "x.png")]) == 1
        assert "--allow-image-dir DIR" in capsys.readouterr().err
        done = out / f"{path.stem}.png"
        assert main(["render", str(path), "-o", str(done), "--allow-image-dir", str(shared)]) == 0
        assert is_red_card(done)
    # A file beside the spec needs no switch, from any working folder.
    monkeypatch.chdir(tmp_path)
    assert main(["render", str(beside), "-o", str(out / "beside.png")]) == 0
    assert is_red_card(out / "beside.png")
    # A batch of the folder: the file beside its spec renders; the others only with the switch.
    batch = ["batch", str(cards), "-o", str(out / "batch"), "--jobs", "1"]
    assert main(batch) == 1
    assert capsys.readouterr().err.count("--allow-image-dir DIR") == 2
    assert main([*batch, "--allow-image-dir", str(shared)]) == 0
    assert is_red_card(out / "batch" / "card.png")


def test_a_spec_on_standard_input_reads_files_only_with_allow_image_dir(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(_png())
    text = json.dumps(card("logo.png")).encode()
    refused = run("render", "-", "-o", tmp_path / "x.png", stdin=text, cwd=tmp_path)
    assert refused.returncode == 1
    err = refused.stderr.decode()
    assert err.startswith("<stdin>: /components/0/src: Cannot load image: 'logo.png' is a file")
    assert "--allow-image-dir" in err
    done = run(
        "render", "-", "-o", tmp_path / "x.png", "--allow-image-dir", ".", stdin=text, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr.decode()
    assert is_red_card(tmp_path / "x.png")


# --- validate --resources -----------------------------------------------------------------------


def test_validate_resources_reports_each_failing_pointer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "logo.png").write_bytes(_png())
    spec = card("logo.png")
    spec["components"] += [
        {"type": "image", "src": "missing.png", "width": 5, "height": 5},
        {
            "type": "image",
            "src": "gone.png",
            "width": 5,
            "height": 5,
            "onImageError": "placeholder",
        },
        {"type": "image", "src": "data:image/png;base64,AAAA", "width": 5, "height": 5},
    ]
    path = write(tmp_path / "card.json", spec)
    bad = write(tmp_path / "bad.json", {"width": 0, "components": []})
    failing = ["/components/1/src", "/components/2/src", "/components/3/src"]
    assert main(["validate", str(path), "--resources"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[1] for line in lines] == failing
    assert "cannot read file 'missing.png'" in lines[0]
    assert "cannot read file 'gone.png'" in lines[1]
    assert "not an image" in lines[2]
    # An invalid spec is exit 2 whatever else fails; --json gives both lists.
    assert main(["validate", str(path), str(bad), "--resources", "--json"]) == 2
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["valid"] is True
    assert first["resources"]["ok"] is False
    assert [i["pointer"] for i in first["resources"]["issues"]] == failing
    assert second["valid"] is False
    assert second["resources"] == {"ok": False, "issues": []}
    # Without --resources the same spec is valid: nothing was read.
    assert main(["validate", str(path)]) == 0


def test_validate_help_says_what_each_mode_checks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    text = capsys.readouterr().out
    assert "Plain validate checks" in text
    assert "It reads no image. --resources also loads every image source" in text
    assert "1 (--resources)" in text


# --- messages about the whole spec carry no "/:" ------------------------------------------------


def test_errors_about_the_whole_spec_have_no_slash_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    missing = tmp_path / "missing.json"
    assert main(["render", str(missing), "-o", str(tmp_path / "x.png")]) == 2
    render = capsys.readouterr().err
    assert (
        render == f"{missing}: Cannot read spec file {str(missing)!r}: No such file or directory.\n"
    )
    assert main(["validate", str(broken)]) == 2
    validate = capsys.readouterr().out
    assert validate.startswith(f"{broken}: Invalid JSON at line 1")
    assert main(["batch", str(broken), "-o", str(tmp_path / "out"), "--jobs", "1"]) == 1
    batch = capsys.readouterr().err
    assert f"{broken}: Invalid JSON at line 1" in batch
    for text in (render, validate, batch):
        assert "/: " not in text, text
    assert str(Issue("", "whole")) == "whole"
    assert str(Issue("/width", "part")) == "/width: part"


# --- the server: a file path refusal says what is accepted; a busy port exits 3 -----------------


def test_server_refusal_of_a_file_path_names_the_switch_and_what_is_accepted(
    tmp_path: Path,
) -> None:
    import httpx

    with ServerProcess(serve("--render-workers", "1"), tmp_path / "server.log") as server:
        response = httpx.post(server.url + "/api/v1/image", json=card("/etc/hostname"), timeout=30)
    assert response.status_code == 400
    (issue,) = response.json()["details"]["issues"]
    assert issue["pointer"] == "/components/0/src"
    assert "--allow-image-dir" in issue["message"]
    assert "an http(s) URL, a data: URI or raw base64" in issue["message"]


def test_serve_exits_3_when_the_port_is_taken() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = run("serve", "--port", str(port), "--render-workers", "1")
    assert result.returncode == 3, result.stderr.decode()
    assert "address already in use" in result.stderr.decode().lower()


def test_serve_help_lists_exit_code_3(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = capsys.readouterr().out
    assert "3 the server could not start (e.g. the port is already in use)" in help_text
    assert "0 stopped normally (SIGINT or SIGTERM" in help_text
