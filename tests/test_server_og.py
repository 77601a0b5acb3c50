"""`GET /og/{name}.{ext}` over real HTTP (issue 18): signed template URLs rendered by the real
`renderer serve --templates` in a subprocess. Each test asserts what a crawler or a CDN sees:
status, content type, the card's pixels, ETag and Cache-Control, 304s, and `/metrics` counting
renders (one for a hundred concurrent requests of a new URL).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from server_process import ServerProcess, serve

import renderer
from renderer.signing import canonical, sign_url

SECRET = "og-test-secret"
NAVY = (0x1F, 0x2A, 0x44)

CARD: dict[str, Any] = {
    "width": 600,
    "height": 315,
    "background": "#1f2a44",
    "components": [
        {
            "type": "text",
            "text": "{{ title }}",
            "fontSize": 48,
            "fontWeight": "800",
            "color": "#ffffff",
            "x": 40,
            "y": 40,
            "frameWidth": 520,
        },
        {
            "type": "text",
            "text": "by {{ author }}",
            "fontSize": 20,
            "color": "#9aa5c0",
            "x": 40,
            "y": 260,
        },
    ],
}
OPEN: dict[str, Any] = {
    "width": 200,
    "height": 100,
    "background": "#ffffff",
    "components": [{"type": "text", "text": "{{ title }}", "fontSize": 20, "x": 10, "y": 10}],
}
# Takes about a second to draw: long enough that a hundred requests all arrive during it.
SLOW: dict[str, Any] = {
    "width": 2048,
    "height": 2048,
    "components": [
        {
            "type": "text",
            "text": "{{ title }} " + "Lorem ipsum dolor sit amet " * 90,
            "fontSize": 40,
            "frameWidth": 1950,
            "x": 0,
            "y": i * 20,
        }
        for i in range(16)
    ],
}
COLOUR: dict[str, Any] = {
    "width": 50,
    "height": 50,
    "background": "{{ bg }}",
    "components": [{"type": "divider", "length": 10, "x": 0, "y": 0}],
}
LOGO: dict[str, Any] = {
    "width": 100,
    "height": 60,
    "components": [
        {"type": "image", "src": "logo.png", "width": 40, "height": 40, "x": 10, "y": 10},
        {"type": "text", "text": "{{ title }}", "fontSize": 12, "x": 60, "y": 20},
    ],
}


def _write_templates(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in (
        ("card", CARD),
        ("open", OPEN),
        ("slow", SLOW),
        ("colour", COLOUR),
        ("logo", LOGO),
    ):
        (folder / f"{name}.json").write_text(json.dumps(doc))
    (folder / "broken.json").write_text('{"width": 10, "height": ')
    Image.new("RGB", (40, 40), (255, 0, 0)).save(folder / "logo.png")


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("og") / "templates"
    _write_templates(folder)
    return folder


@pytest.fixture(scope="module")
def og(templates: Path) -> Iterator[ServerProcess]:
    """Templates signed with SECRET, `open` served unsigned too, the memory render cache, API
    keys configured (a signed GET needs none), one render worker."""
    argv = serve(
        "--templates",
        str(templates),
        "--og-allow-unsigned",
        "open",
        "--render-workers",
        "1",
    )
    env = {"RENDERER_URL_SECRET": SECRET, "RENDERER_API_KEYS": "k1:pro"}
    with ServerProcess(argv, templates.parent / "server.log", env=env) as s:
        yield s


def url(server: ServerProcess, name: str, variables: dict[str, object], **kw: Any) -> str:
    return sign_url(name, variables, secret=SECRET, base_url=server.url, **kw)


def get(target: str, **headers: str) -> httpx.Response:
    return httpx.get(target, headers=headers, timeout=60)


def metric(server: ServerProcess, name: str) -> float:
    text = httpx.get(server.url + "/metrics").text
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def png(r: httpx.Response) -> Image.Image:
    return Image.open(io.BytesIO(r.content)).convert("RGB")


def ink_box(im: Image.Image, background: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of every pixel far from the background colour."""
    far = (np.abs(np.asarray(im, dtype=int) - background) > 40).any(axis=2)
    ys, xs = np.nonzero(far)
    assert xs.size, "no ink at all"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


# --- a signed URL renders --------------------------------------------------------------------


def test_a_signed_url_is_the_card_with_its_variables(og: ServerProcess) -> None:
    r = get(url(og, "card", {"title": "Hello", "author": "Ada"}))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["etag"])  # strong: no W/
    assert r.headers["cache-control"] == "public, max-age=86400"
    im = png(r)
    assert im.size == (600, 315)
    assert im.getpixel((5, 5)) == NAVY  # the template's background
    left, top, right, bottom = ink_box(im.crop((0, 0, 600, 200)), NAVY)
    # "Hello" at 48 px from (40, 40): ink starts near x 40, within the first line box.
    assert 38 <= left <= 46
    assert 40 <= top <= 60
    assert right < 300
    assert bottom < 100
    # The author line is where the template puts it (20 px from y 260), in its grey.
    assert ink_box(im.crop((0, 200, 600, 315)), NAVY)[1] >= 60
    author = np.asarray(im.crop((40, 260, 200, 290)), dtype=int).reshape(-1, 3)
    brightest = author[author.sum(axis=1).argmax()]
    assert np.abs(brightest - (0x9A, 0xA5, 0xC0)).max() <= 8


def test_each_extension_is_its_format(og: ServerProcess) -> None:
    expected = {
        "jpg": "image/jpeg",
        "webp": "image/webp",
        "svg": "image/svg+xml",
        "avif": "image/avif",
    }
    tags = set()
    for ext, content_type in expected.items():
        r = get(url(og, "card", {"title": "T", "author": "A"}, format=ext))
        assert r.status_code == 200, (ext, r.text)
        assert r.headers["content-type"] == content_type
        tags.add(r.headers["etag"])
    assert len(tags) == len(expected)


def test_variables_are_text_even_when_they_look_like_json(og: ServerProcess) -> None:
    title = '", "type": "image", "src": "/etc/passwd'
    r = get(url(og, "card", {"title": title, "author": "<b>&amp;</b>"}, format="svg"))
    assert r.status_code == 200, r.text
    assert b"<image" not in r.content
    assert b"passwd" not in r.content


def test_head_answers_the_headers_of_get(og: ServerProcess) -> None:
    target = url(og, "card", {"title": "Head", "author": "A"})
    full = get(target)
    head = httpx.head(target, timeout=60)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == full.headers["etag"]
    assert head.headers["content-length"] == str(len(full.content))


# --- refused URLs ------------------------------------------------------------------------------


def _tamper(target: str, old: str, new: str) -> str:
    assert old in target
    return target.replace(old, new)


def test_tampered_wrong_secret_expired_and_unsigned_urls_are_403(og: ServerProcess) -> None:
    good = url(og, "card", {"title": "Pay 10", "author": "Ada"})
    cases = {
        "tampered value": _tamper(good, "Pay%2010", "Pay%201000"),
        "added variable": _tamper(good, "&s=", "&extra=1&s="),
        "other template": _tamper(good, "/og/card.png", "/og/open.png"),
        "other format": _tamper(good, "/og/card.png", "/og/card.webp"),
        "wrong secret": sign_url(
            "card", {"title": "Pay 10", "author": "Ada"}, secret="guess", base_url=og.url
        ),
        "expired": url(og, "card", {"title": "x", "author": "y"}, expires=time.time() - 5),
        "missing": good.split("&s=")[0],
    }
    for case, target in cases.items():
        r = get(target, **{"If-None-Match": "*"})  # never a 304 for a refused request
        assert r.status_code == 403, (case, r.status_code, r.text)
        assert r.headers["content-type"] == "application/json"
    assert get(cases["expired"]).json()["error"] == "URL expired"
    assert get(cases["missing"]).json()["error"] == "Missing signature"
    assert get(cases["wrong secret"]).json()["error"] == "Invalid signature"
    (issue,) = get(cases["wrong secret"]).json()["details"]["issues"]
    assert issue == {"pointer": "", "message": "The signature does not match this path and query."}


def test_an_expiring_url_works_until_then_and_is_not_cached_longer(og: ServerProcess) -> None:
    r = get(url(og, "card", {"title": "Soon", "author": "A"}, expires=timedelta(seconds=120)))
    assert r.status_code == 200
    age = int(re.search(r"max-age=(\d+)", r.headers["cache-control"]).group(1))  # type: ignore[union-attr]
    assert 100 <= age <= 120


def test_a_proxy_that_re_encodes_the_query_does_not_break_the_signature(og: ServerProcess) -> None:
    target = url(og, "card", {"title": "A b~c", "author": "Ada"})
    assert "A%20b~c" in target
    reencoded = target.replace("A%20b~c", "A+b%7Ec")
    assert get(reencoded).status_code == 200


def test_unsigned_urls_only_for_the_templates_the_operator_names(og: ServerProcess) -> None:
    assert get(og.url + "/og/open.png?title=Hi").status_code == 200
    assert get(og.url + "/og/open.png?title=Hi&s=forged").status_code == 403  # a bad s is bad
    assert get(og.url + "/og/card.png?title=Hi&author=A").status_code == 403


def test_unknown_template_and_extension_are_404(og: ServerProcess) -> None:
    r = get(url(og, "nosuch", {"title": "x"}))
    assert r.status_code == 404
    assert r.json()["details"]["template"] == "nosuch"
    assert r.json()["details"]["issues"][0]["message"]  # every error's one shape (issue 12)
    assert get(og.url + "/og/card.exe?s=x").status_code == 404
    assert get(og.url + "/og/..%2Fsecret.png").status_code == 404


def test_a_missing_variable_is_400_naming_it(og: ServerProcess) -> None:
    r = get(url(og, "card", {"title": "No author"}))
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "Missing template variable 'author'"
    assert body["details"]["missing"] == ["author"]


def test_an_unknown_or_repeated_variable_is_400(og: ServerProcess) -> None:
    r = get(url(og, "card", {"title": "T", "author": "A", "autor": "typo"}))
    assert r.status_code == 400
    assert r.json()["details"]["parameter"] == "autor"
    assert r.json()["details"]["variables"] == ["author", "title"]
    # the reason is in the issue, in the one shape every refusal has (README: Server)
    (issue,) = r.json()["details"]["issues"]
    assert issue["parameter"] == "autor"
    assert "has no variable 'autor'" in issue["message"]
    r = get(og.url + "/og/open.png?title=a&title=b")
    assert r.status_code == 400
    assert r.json()["details"]["parameter"] == "title"
    assert r.json()["details"]["issues"] == [
        {"pointer": "", "parameter": "title", "message": "'title' is given more than once"}
    ]


def test_a_value_the_card_refuses_is_400_with_its_pointer(og: ServerProcess) -> None:
    r = get(url(og, "colour", {"bg": "not-a-colour"}))
    assert r.status_code == 400
    assert r.json()["details"]["issues"][0]["pointer"] == "/background"
    good = get(url(og, "colour", {"bg": "#00ff00"}))
    assert good.status_code == 200
    assert png(good).getpixel((25, 25)) == (0, 255, 0)


def test_an_over_long_query_is_414(og: ServerProcess) -> None:
    r = get(url(og, "card", {"title": "x" * 5000, "author": "A"}))
    assert r.status_code == 414
    assert r.json()["details"]["limitBytes"] == 4096


def test_an_invalid_template_file_is_500_naming_it(og: ServerProcess) -> None:
    r = get(url(og, "broken", {}))
    assert r.status_code == 500
    assert r.json()["error"] == "Template is invalid"
    assert r.json()["details"]["template"] == "broken"
    # the server's fault: the id its log carries, as in every 5xx
    assert r.json()["details"]["requestId"] == r.headers["x-request-id"]


# --- caching -------------------------------------------------------------------------------


def test_revalidation_is_304_with_the_same_validators(og: ServerProcess) -> None:
    target = url(og, "card", {"title": "Cached", "author": "A"})
    first = get(target)
    again = get(target, **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert get(target, **{"If-None-Match": '"other"'}).status_code == 200


def test_a_versioned_url_is_immutable(og: ServerProcess) -> None:
    r = get(url(og, "card", {"title": "V", "author": "A"}, version=3))
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_the_etag_depends_on_the_variables_not_on_the_signature(og: ServerProcess) -> None:
    a = get(url(og, "card", {"title": "One", "author": "A"})).headers["etag"]
    b = get(url(og, "card", {"title": "Two", "author": "A"})).headers["etag"]
    versioned = get(url(og, "card", {"title": "One", "author": "A"}, version=9))
    assert a != b
    assert versioned.headers["etag"] == a


def test_a_hundred_concurrent_gets_of_a_new_url_render_once(og: ServerProcess) -> None:
    target = url(og, "slow", {"title": f"storm {time.time()}"})
    renders = metric(og, "renderer_og_renders_total")
    shared = metric(og, "renderer_og_coalesced_total") + metric(og, "renderer_og_cache_hits_total")
    drawn = metric(og, 'renderer_renders_total{format="png"}')

    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            return await asyncio.gather(*(client.get(target) for _ in range(100)))

    responses = asyncio.run(storm())
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert metric(og, "renderer_og_renders_total") == renders + 1
    assert metric(og, 'renderer_renders_total{format="png"}') == drawn + 1
    after = metric(og, "renderer_og_coalesced_total") + metric(og, "renderer_og_cache_hits_total")
    assert after == shared + 99
    assert metric(og, "renderer_og_coalesced_total") > 0  # they waited for the one render


def test_a_template_edited_on_disk_gives_a_new_etag_and_picture(
    og: ServerProcess, templates: Path
) -> None:
    folder = templates
    (folder / "edit.json").write_text(json.dumps(OPEN))
    target = url(og, "edit", {"title": "Same URL"})
    before = get(target)
    assert before.status_code == 200
    assert png(before).getpixel((199, 99)) == (255, 255, 255)
    (folder / "edit.json").write_text(json.dumps({**OPEN, "background": "#000000"}))
    after = get(target)
    assert after.headers["etag"] != before.headers["etag"]
    assert png(after).getpixel((199, 99)) == (0, 0, 0)
    assert get(target, **{"If-None-Match": before.headers["etag"]}).status_code == 200
    (folder / "edit.json").unlink()
    assert get(target).status_code == 404


def test_an_image_file_beside_the_template_is_part_of_the_etag(
    og: ServerProcess, templates: Path
) -> None:
    folder = templates
    target = url(og, "logo", {"title": "Logo"})
    red = get(target)
    assert red.status_code == 200, red.text
    assert png(red).getpixel((30, 30)) == (255, 0, 0)
    Image.new("RGB", (40, 40), (0, 0, 255)).save(folder / "logo.png")
    blue = get(target)
    assert blue.headers["etag"] != red.headers["etag"]
    assert png(blue).getpixel((30, 30)) == (0, 0, 255)


def test_sighup_reads_every_template_again_and_the_server_stays_up(og: ServerProcess) -> None:
    target = url(og, "open", {"title": "Hup"})
    assert get(target).status_code == 200
    loads = metric(og, "renderer_og_template_loads_total")
    assert get(target).status_code == 200
    assert metric(og, "renderer_og_template_loads_total") == loads  # unchanged: not read again
    os.kill(og.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while metric(og, "renderer_og_template_loads_total") == loads:
        assert time.monotonic() < deadline, "the template was not read again after SIGHUP"
        assert get(target).status_code == 200
    assert og.proc.poll() is None


def test_openapi_documents_the_route(og: ServerProcess) -> None:
    doc = httpx.get(og.url + "/openapi.json").json()
    op = doc["paths"]["/og/{file}"]["get"]
    assert {"200", "304", "400", "403", "404", "414"} <= set(op["responses"])
    assert {p["name"] for p in op["parameters"]} >= {"file", "s", "exp", "v"}


def test_the_url_the_python_api_signs_is_the_documented_canonical_form() -> None:
    target = renderer.sign_url("card", {"b": "2", "a": "x y"}, secret="k", version=1)
    path, _, query = target.partition("?")
    pairs = [tuple(p.split("=", 1)) for p in query.split("&")]
    assert path == "/og/card.png"
    assert [k for k, _ in pairs] == ["a", "b", "v", "s"]
    assert canonical(path, [("b", "2"), ("a", "x y"), ("v", "1")]) == "/og/card.png?a=x%20y&b=2&v=1"
    with pytest.raises(ValueError, match="reserved"):
        renderer.sign_url("card", {"s": "1"}, secret="k")
    with pytest.raises(ValueError, match="RENDERER_URL_SECRET"):
        renderer.sign_url("card", {}, secret="")


# --- a folder cache, quotas and the failure budget ------------------------------------------


def _quota_server(d: Path) -> ServerProcess:
    config = d / "config.json"
    config.write_text(
        json.dumps(
            {
                "plans": {"og-tiny": {"requests": 3, "period": 3600}},
                "og_plan": "og-tiny",
                "auth_failures_per_minute": 3,
            }
        )
    )
    argv = serve(
        "--templates",
        str(d / "templates"),
        "--config",
        str(config),
        "--og-cache",
        str(d / "cache"),
        "--render-workers",
        "1",
    )
    return ServerProcess(argv, d / "server.log", env={"RENDERER_URL_SECRET": SECRET})


def test_folder_cache_quota_and_failure_budget(tmp_path: Path) -> None:
    _write_templates(tmp_path / "templates")
    target = ""
    with _quota_server(tmp_path) as s:
        target = url(s, "open", {"title": "Kept"})
        first = get(target)
        assert first.status_code == 200
        assert first.headers["ratelimit-remaining"] == "2"
        assert [p.name for p in (tmp_path / "cache").iterdir()] == [
            first.headers["etag"].strip('"') + ".png"
        ]
        assert get(url(s, "open", {"title": "Other"})).status_code == 200
        assert get(target).status_code == 200
        over = get(target)  # the fourth request of this template in the hour
        assert over.status_code == 429
        assert over.headers["retry-after"]
        assert over.json()["details"]["plan"] == "og-tiny"
        assert get(url(s, "card", {"title": "T", "author": "A"})).status_code == 200  # own bucket
        for _ in range(3):
            assert get(target + "x").status_code == 403
        assert get(target + "x").status_code == 429  # guessing signatures past the budget
    with _quota_server(tmp_path) as s:  # a new process: the folder cache answers
        again = get(target.replace(target.split("/og/")[0], s.url))
        assert again.status_code == 200
        assert again.content == first.content
        assert metric(s, "renderer_og_renders_total") == 0
        assert metric(s, "renderer_og_cache_hits_total") == 1


def test_templates_without_a_folder_or_a_way_to_sign_refuse_to_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "renderer", "serve", "--templates", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("RENDERER_")},
        timeout=60,
    )
    assert r.returncode == 2
    assert "RENDERER_URL_SECRET" in r.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "renderer", "serve", "--templates", str(tmp_path / "typo")],
        capture_output=True,
        text=True,
        env={**os.environ, "RENDERER_URL_SECRET": "x"},
        timeout=60,
    )
    assert missing.returncode == 2
    assert "no such folder" in missing.stderr


def test_renderer_sign_prints_a_url_the_server_accepts(og: ServerProcess) -> None:
    import subprocess
    import sys

    env = {**os.environ, "RENDERER_URL_SECRET": SECRET}

    def sign(*args: str, environ: dict[str, str] = env) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "renderer", "sign", "card", *args]
        return subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=60)

    variables = ("title=From the CLI", "author=A")
    for fmt, content_type in (("webp", "image/webp"), ("pdf", "application/pdf")):
        # every format the server draws at /og/ can be signed, a PDF too
        r = sign(
            *variables, "--base-url", og.url, "--format", fmt, "--expires", "600", "--version", "2"
        )
        assert r.returncode == 0, r.stderr
        answer = get(r.stdout.strip())
        assert answer.status_code == 200
        assert answer.headers["content-type"] == content_type
        assert "immutable" not in answer.headers["cache-control"]  # exp caps it
    # what the server would refuse or not know, refused here with the reason
    mistakes = {
        ("no-equals-sign",): "KEY=VALUE",
        ("title=a", "title=b"): "'title' is given more than once",
        ("title=a", "--expires", "-5"): "--expires takes whole seconds from now",
    }
    for extra, reason in mistakes.items():
        bad = sign(*extra)
        assert bad.returncode == 2
        assert reason in bad.stderr
    no_secret = {k: v for k, v in env.items() if k != "RENDERER_URL_SECRET"}
    bad = sign(*variables, environ=no_secret)
    assert bad.returncode == 2
    assert "set RENDERER_URL_SECRET" in bad.stderr
