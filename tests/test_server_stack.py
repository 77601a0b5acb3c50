"""The server's gates see the whole component tree: a file path nested in a stack is refused as at
the top, and a plan's component limit counts nested nodes (issue 13). Real server, real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from server_process import ROOT, ServerProcess, serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    d = tmp_path_factory.mktemp("stack-server")
    images = d / "images"
    images.mkdir()
    (images / "avatar.png").write_bytes((ROOT / "examples" / "avatar.png").read_bytes())
    keys = d / "keys.txt"
    keys.write_text("big-key:unlimited\nsmall-key:small\n")
    config = d / "config.json"
    plans = {"unlimited": {"requests": None}, "small": {"requests": None, "max_components": 3}}
    config.write_text(json.dumps({"plans": plans, "render_workers": 1}))
    argv = serve(
        "--api-keys-file", str(keys), "--config", str(config), "--allow-image-dir", str(images)
    )
    with ServerProcess(argv, d / "server.log") as s:
        yield s


def _post(server: ServerProcess, spec: dict[str, Any], key: str = "big-key") -> httpx.Response:
    return httpx.post(
        server.url + "/api/v1/image",
        content=json.dumps(spec),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept": "image/png",
        },
        timeout=30,
    )


def _nested(src: str) -> dict[str, Any]:
    image = {"type": "image", "src": src, "width": 20, "height": 20}
    inner = {"type": "stack", "children": [image]}
    return {"width": 60, "height": 40, "components": [{"type": "stack", "children": [inner]}]}


def _issues(r: httpx.Response) -> list[dict[str, str]]:
    issues: list[dict[str, str]] = r.json()["details"]["issues"]
    return issues


def test_a_file_path_nested_in_a_stack_is_refused(server: ServerProcess) -> None:
    r = _post(server, _nested("/etc/hostname"))
    assert r.status_code == 400, r.text
    assert _issues(r)[0]["pointer"] == "/components/0/children/0/children/0/src"
    r = _post(server, _nested("../../etc/passwd"))
    assert r.status_code == 400, r.text
    assert "outside the folders" in _issues(r)[0]["message"]


def test_a_nested_image_from_an_allowed_folder_renders(server: ServerProcess) -> None:
    r = _post(server, _nested("avatar.png"))
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"\x89PNG")


def test_the_plan_limit_counts_nested_nodes(server: ServerProcess) -> None:
    text = {"type": "text", "text": "x"}
    three = {"width": 40, "height": 40, "components": [{"type": "stack", "children": [text, text]}]}
    assert _post(server, three, key="small-key").status_code == 200
    four = {**three, "components": [{"type": "stack", "children": [text, text, text]}]}
    r = _post(server, four, key="small-key")
    assert r.status_code == 400, r.text
    assert "stacks' children included" in _issues(r)[0]["message"]
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
