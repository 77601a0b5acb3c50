"""Batch over HTTP (issue 6): `POST /api/v1/batch` and `GET /api/v1/jobs/{id}` on the real server.

Everything is real: `renderer serve` in a subprocess on a loopback port, a loopback HTTP receiver
started here for callbacks, storage folders on disk, and restarts of the server process (killed
with SIGKILL, and stopped with SIGTERM). The batch server trusts the host `127.0.0.1` through
`allow_image_hosts`, the operator's exception to the address rules (the same switch that lets it
fetch images from an intranet host), so its callbacks can reach the receiver; `localhost` stays
refused there, and the restart server, without the exception, refuses loopback altogether.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_process import HEAVY, HEAVY_ENV, ROOT, ServerProcess, free_port, serve

PNG = b"\x89PNG\r\n\x1a\n"
KEY, OTHER, QUOTA, FREE = "batch-key", "other-key", "quota-key", "free-key"
CALLBACK_SECRET = "callback-secret"  # the shared server signs its callbacks with it
CARD: dict[str, Any] = {
    "width": 60,
    "height": 30,
    "background": "#ffffff",
    "components": [{"type": "text", "text": "Hi", "fontSize": 10}],
}
TEMPLATE: dict[str, Any] = {
    "width": 200,
    "height": 40,
    "background": "#ffffff",
    "components": [{"type": "text", "text": "{{ title }}", "fontSize": 12, "x": 4, "y": 4}],
}


def card(text: str = "Hi", **changes: Any) -> dict[str, Any]:
    c: dict[str, Any] = json.loads(json.dumps(CARD))
    c["components"][0]["text"] = text
    c["components"][0].update(changes)
    return c


# --- a loopback receiver for callbacks ----------------------------------------------------------


class Receiver:
    """A real HTTP server on 127.0.0.1: records every POST; answers each path's planned statuses
    in turn (then 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], Any]] = []
        self.raw: list[tuple[str, bytes]] = []  # bodies as sent, for checking signatures
        self.plans: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.received.append((self.path, dict(self.headers), json.loads(body)))
                    receiver.raw.append((self.path, body))
                    plan = receiver.plans.get(self.path, [])
                    status = plan.pop(0) if plan else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def posts(self, path: str) -> list[Any]:
        with self.lock:
            return [body for p, _, body in self.received if p == path]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


# --- the servers ----------------------------------------------------------------------------------


def _config(folder: Path, **extra: Any) -> Path:
    path = folder / "config.json"
    path.write_text(
        json.dumps(
            {
                "plans": {
                    "unlimited": {"requests": None},
                    "tiny": {"requests": 5, "period": 3600, "max_components": 3},
                },
                **extra,
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("storage")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, storage: Path) -> Iterator[ServerProcess]:
    d = tmp_path_factory.mktemp("batch")
    keys = d / "keys.txt"
    keys.write_text(f"{KEY}:unlimited\n{OTHER}:unlimited\n{QUOTA}:tiny\n{FREE}:free\n")
    config = _config(
        d,
        max_batch_items=25,
        max_body_bytes=1_000_000,
        callback_backoff=0.05,
        callback_retries=2,
        allow_image_hosts=["127.0.0.1"],
        callback_secret=CALLBACK_SECRET,
    )
    argv = serve(
        *("--api-keys-file", str(keys), "--config", str(config), "--render-workers", "2"),
        *("--jobs-dir", str(d / "jobs"), "--storage", f"out={storage}"),
    )
    with ServerProcess(argv, d / "server.log") as s:
        yield s


def submit(
    server: ServerProcess, body: dict[str, Any] | bytes, key: str | None = KEY
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(server.url + "/api/v1/batch", content=content, headers=headers, timeout=30)


def get_job(server: ServerProcess, job_id: str, key: str | None = KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.get(f"{server.url}/api/v1/jobs/{job_id}", headers=headers, timeout=30)


def wait(
    server: ServerProcess, job_id: str, until: tuple[str, ...] = ("done", "failed"), **kw: Any
) -> dict[str, Any]:
    """Poll the job until its status is in `until` (and its callback, if any, is settled)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = get_job(server, job_id, **kw)
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        settled = job.get("callback", {}).get("status") != "pending" or until == ("running",)
        if job["status"] in until and settled:
            return job
        time.sleep(0.05)
    msg = f"job {job_id} still {job['status']} after 30 s"
    raise AssertionError(msg)


def accepted(r: httpx.Response, items: int) -> str:
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued"
    assert body["items"] == items
    assert body["links"]["self"] == f"/api/v1/jobs/{body['id']}"
    assert r.headers["location"] == body["links"]["self"]
    job_id: str = body["id"]
    return job_id


def refused(r: httpx.Response, status: int, pointer: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body: dict[str, Any] = r.json()
    assert body["error"]
    assert "Traceback" not in r.text
    assert all(set(i) >= {"pointer", "message"} for i in body["details"]["issues"]), body
    if pointer is not None:
        assert pointer in [i["pointer"] for i in body["details"]["issues"]], body
    return body


def image(item: dict[str, Any]) -> bytes:
    assert item["status"] == "ok", item
    return base64.b64decode(item["base64_data"], validate=True)


# --- items, templates, results ----------------------------------------------------------------


def test_twenty_items_with_two_invalid(server: ServerProcess) -> None:
    items = [card(f"Card {i}") for i in range(20)]
    items[4]["components"][0]["fontSize"] = -3
    items[13]["components"][0]["colour"] = "red"
    job_id = accepted(submit(server, {"items": items}), 20)
    job = wait(server, job_id)
    assert job["status"] == "done"
    assert (job["total"], job["completed"], job["failed"]) == (20, 18, 2)
    assert job["created"] <= job["finished"]
    assert [i["index"] for i in job["items"]] == list(range(20))
    errors = {i["index"]: i for i in job["items"] if i["status"] == "error"}
    assert set(errors) == {4, 13}
    assert errors[4]["details"][0]["pointer"] == "/items/4/components/0/fontSize"
    assert errors[13]["details"][0]["pointer"] == "/items/13/components/0/colour"
    assert all(d["message"] for e in errors.values() for d in e["details"])
    for item in job["items"]:
        if item["index"] not in errors:
            assert item["content_type"] == "image/png"
            assert image(item).startswith(PNG)
            assert item["name"] == f"item-{item['index']}.png"
    # Each result is the card it came from: the same bytes as the image endpoint gives.
    single = httpx.post(
        server.url + "/api/v1/image",
        json=items[7],
        headers={"Authorization": f"Bearer {KEY}", "Accept": "image/png"},
    )
    assert image(job["items"][7]) == single.content


def test_template_rows_are_text_never_structure(server: ServerProcess) -> None:
    injection = '", "type": "image", "src": "http://169.254.169.254/'
    rows = [
        {"title": injection},
        {"title": "{{ secret }}", "secret": "leaked"},
        {"title": "Plain"},
        {"name": "no title"},
        {"title": ["a", "list"]},
    ]
    r = submit(server, {"template": TEMPLATE, "rows": rows, "format": "webp"})
    job = wait(server, accepted(r, 5))
    assert (job["completed"], job["failed"]) == (3, 2)
    # Drawn as the literal text: byte for byte the card whose text is that string.
    for i, text in ((0, injection), (1, "{{ secret }}"), (2, "Plain")):
        literal = json.loads(json.dumps(TEMPLATE))
        literal["components"][0]["text"] = text
        direct = httpx.post(
            server.url + "/api/v1/image",
            json=literal,
            headers={"Authorization": f"Bearer {KEY}", "Accept": "image/webp"},
        )
        assert job["items"][i]["content_type"] == "image/webp"
        assert image(job["items"][i]) == direct.content
    missing, listed = job["items"][3], job["items"][4]
    assert missing["details"][0]["pointer"] == "/template/components/0/text"
    assert "'title'" in missing["details"][0]["message"]
    assert "row 3" in missing["details"][0]["message"]
    assert listed["details"][0]["pointer"] == "/template/components/0/text"
    assert "row 4" in listed["details"][0]["message"]


def test_job_survives_the_client_disconnecting(server: ServerProcess, storage: Path) -> None:
    """The client sends its batch and hangs up without reading the answer; the job still runs."""
    body = json.dumps(
        {"items": [card("gone")] * 3, "output": "storage://out/disconnect/", "name": "c{{ index }}"}
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(
            b"POST /api/v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    deadline = time.monotonic() + 30
    files = [storage / "disconnect" / f"c{i}.png" for i in range(3)]
    while not all(f.exists() for f in files) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(f.read_bytes().startswith(PNG) for f in files)


# --- storage ----------------------------------------------------------------------------------


def test_storage_output_lands_in_the_folder(server: ServerProcess, storage: Path) -> None:
    rows = [{"title": "One", "slug": "one"}, {"title": "Two", "slug": "nested/two"}]
    body = {
        "template": TEMPLATE,
        "rows": rows,
        "output": "storage://out/cards/2026/",
        "name": "{{ slug }}.png",
    }
    job = wait(server, accepted(submit(server, body), 2))
    assert (job["status"], job["completed"]) == ("done", 2)
    assert job["output"] == "storage://out/cards/2026/"
    paths = [i["path"] for i in job["items"]]
    assert paths == ["storage://out/cards/2026/one.png", "storage://out/cards/2026/nested/two.png"]
    assert all("base64_data" not in i for i in job["items"])
    for rel in ("one.png", "nested/two.png"):
        assert (storage / "cards" / "2026" / rel).read_bytes().startswith(PNG)
    leftovers = [p for p in storage.rglob("*.renderer-tmp")]
    assert leftovers == []  # written to a temporary name and renamed


@pytest.mark.parametrize(
    "output",
    [
        "storage://nope/x/",
        "storage://out/../escape/",
        "storage://out//etc/",
        "storage://out/a/./b/",
        "/tmp/out/",
        "file:///tmp/out/",
        "storage://out/a\\b/",
        "storage://out/.renderer-owners/",  # hidden names: the owner records among them
        "storage://out/a/.hidden/",
    ],
)
def test_bad_storage_location_is_400(server: ServerProcess, output: str) -> None:
    refused(submit(server, {"items": [CARD], "output": output}), 400, "/output")


def test_names_that_leave_the_folder_or_clash_are_item_errors(
    server: ServerProcess, storage: Path
) -> None:
    rows = [{"slug": "../../escape"}, {"slug": "same"}, {"slug": "same"}, {"slug": "x.jpeg"}]
    template = {**TEMPLATE, "components": [{"type": "text", "text": "{{ slug }}"}]}
    body = {"template": template, "rows": rows, "output": "storage://out/n/", "name": "{{ slug }}"}
    job = wait(server, accepted(submit(server, body), 4))
    statuses = [i["status"] for i in job["items"]]
    assert statuses == ["error", "ok", "error", "error"]
    assert all(job["items"][i]["details"][0]["pointer"] == "/name" for i in (0, 2, 3))
    assert "item 1" in job["items"][2]["details"][0]["message"]
    assert "jpeg" in job["items"][3]["details"][0]["message"]
    assert (storage / "n" / "same.png").exists()
    assert not (storage.parent / "escape.png").exists()


# --- callbacks --------------------------------------------------------------------------------


def test_callback_reaches_the_receiver(server: ServerProcess, receiver: Receiver) -> None:
    body = {"items": [CARD, card(fontSize=0)], "callback_url": receiver.url("/done")}
    job = wait(server, accepted(submit(server, body), 2))
    assert job["callback"]["status"] == "delivered"
    assert [a["status"] for a in job["callback"]["attempts"]] == [200]
    [summary] = receiver.posts("/done")
    assert summary["id"] == job["id"]
    assert (summary["status"], summary["completed"], summary["failed"]) == ("done", 1, 1)
    assert summary["items"][0]["status"] == "ok"
    assert "base64_data" not in json.dumps(summary)
    assert summary["items"][1]["details"][0]["pointer"] == "/items/1/components/0/fontSize"
    [(_, headers, _)] = [x for x in receiver.received if x[0] == "/done"]
    assert headers["Content-Type"] == "application/json"
    # Signed: HMAC-SHA256 of "<timestamp>.<body>" under the configured secret, as the README
    # tells a receiver to check it.
    [raw] = [body for path, body in receiver.raw if path == "/done"]
    stamp = headers["Renderer-Timestamp"]
    assert abs(time.time() - int(stamp)) < 60
    expected = hmac.new(CALLBACK_SECRET.encode(), f"{stamp}.".encode() + raw, "sha256")
    assert headers["Renderer-Signature"] == f"v1={expected.hexdigest()}"
    forged = hmac.new(b"another-secret", f"{stamp}.".encode() + raw, "sha256")
    assert headers["Renderer-Signature"] != f"v1={forged.hexdigest()}"


def test_failing_callback_is_retried_and_recorded(
    server: ServerProcess, receiver: Receiver
) -> None:
    receiver.plans["/flaky"] = [500, 503]
    receiver.plans["/down"] = [500, 502, 503, 504]
    flaky = accepted(submit(server, {"items": [CARD], "callback_url": receiver.url("/flaky")}), 1)
    down = accepted(submit(server, {"items": [CARD], "callback_url": receiver.url("/down")}), 1)
    closed = f"http://127.0.0.1:{free_port()}/nobody"
    refused_job = accepted(submit(server, {"items": [CARD], "callback_url": closed}), 1)

    job = wait(server, flaky)
    assert job["callback"]["status"] == "delivered"
    assert [a["status"] for a in job["callback"]["attempts"]] == [500, 503, 200]
    assert len(receiver.posts("/flaky")) == 3
    job = wait(server, down)
    assert job["callback"]["status"] == "failed"  # 1 try + callback_retries (2)
    assert [a["status"] for a in job["callback"]["attempts"]] == [500, 502, 503]
    job = wait(server, refused_job)
    assert job["callback"]["status"] == "failed"
    attempts = job["callback"]["attempts"]
    assert len(attempts) == 3
    assert all("connection refused" in a["error"] for a in attempts)
    assert job["status"] == "done"  # the images are fine; only the callback failed


@pytest.mark.parametrize(
    ("host", "why"),
    [("localhost", "loopback"), ("169.254.169.254", "metadata"), ("10.1.2.3", "private")],
)
def test_callback_address_rules(
    server: ServerProcess, receiver: Receiver, host: str, why: str
) -> None:
    r = submit(server, {"items": [CARD], "callback_url": receiver.url("/x", host=host)})
    body = refused(r, 400, "/callback_url")
    assert why in body["details"]["issues"][0]["message"]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http://user:pw@127.0.0.1/", "not a url"])
def test_callback_url_syntax(server: ServerProcess, url: str) -> None:
    refused(submit(server, {"items": [CARD], "callback_url": url}), 400, "/callback_url")


# --- auth, quotas, limits -----------------------------------------------------------------------


def test_auth_and_who_may_read_a_job(server: ServerProcess) -> None:
    refused(submit(server, {"items": [CARD]}, key=None), 401)
    refused(submit(server, {"items": [CARD]}, key="wrong"), 403)
    job_id = accepted(submit(server, {"items": [CARD]}), 1)
    refused(get_job(server, job_id, key=None), 401)
    refused(get_job(server, job_id, key="wrong"), 403)
    refused(get_job(server, job_id, key=OTHER), 404)  # another key's job: as if it did not exist
    assert wait(server, job_id)["status"] == "done"
    refused(get_job(server, "0" * 32), 404)
    for bad in ("..%2F..%2Fetc%2Fpasswd", "x" * 300, "%00", "ABCDEF"):
        refused(get_job(server, bad), 404)
    r = httpx.get(server.url + "/api/v1/jobs/", headers={"Authorization": f"Bearer {KEY}"})
    refused(r, 404)


def test_quota_counts_every_item(server: ServerProcess) -> None:
    """The tiny plan allows 5 requests an hour; a batch of N items costs N, and a refused batch
    costs nothing (issue 11)."""
    r = submit(server, {"items": [CARD] * 6}, key=QUOTA)
    body = refused(r, 429)
    assert body["details"] | {"issues": []} == {
        "plan": "tiny",
        "limit": 5,
        "requested": 6,
        "remaining": 5,
        "issues": [],
    }
    assert "needs 6 requests" in body["details"]["issues"][0]["message"]
    assert r.headers["ratelimit-remaining"] == "5"
    assert int(r.headers["retry-after"]) >= 1
    refused(submit(server, {"items": "not a list"}, key=QUOTA), 400, "/items")  # costs nothing
    r = submit(server, {"items": [CARD] * 5}, key=QUOTA)
    accepted(r, 5)
    assert r.headers["ratelimit-remaining"] == "0"
    r = submit(server, {"items": [CARD]}, key=QUOTA)  # refused before its body is read
    refused(r, 429)
    assert r.headers["ratelimit-remaining"] == "0"


def test_plan_component_limit_applies_per_item(server: ServerProcess) -> None:
    many = {**CARD, "components": CARD["components"] * 11}
    job = wait(server, accepted(submit(server, {"items": [CARD, many]}, key=FREE), 2), key=FREE)
    assert [i["status"] for i in job["items"]] == ["ok", "error"]
    assert job["items"][1]["details"][0]["pointer"] == "/items/1/components"
    assert "10" in job["items"][1]["error"]


def test_limits_and_content_rules(server: ServerProcess) -> None:
    refused(submit(server, {"items": [CARD] * 26}), 400, "/items")  # max_batch_items 25
    refused(submit(server, {"template": CARD, "rows": [{}] * 26}), 400, "/rows")
    big = json.dumps({"items": [card("x" * 1000)] * 1100}).encode()
    assert len(big) > 1_000_000
    refused(submit(server, big), 413)
    r = httpx.post(
        server.url + "/api/v1/batch",
        content=json.dumps({"items": [CARD]}),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "text/plain"},
    )
    refused(r, 415)
    r = httpx.get(server.url + "/api/v1/batch")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (b"", ""),
        (b"{", ""),
        (b"[]", ""),
        (b'{"items": [{}], "items": []}', "/items"),
        (b'{"items": [], "format": "png"}', "/items"),
        (b'{"items": {"0": {}}}', "/items"),
        (b'{"items": [{}], "template": {}, "rows": [{}]}', ""),
        (b'{"template": {}}', ""),
        (b'{"template": [], "rows": [{}]}', "/template"),
        (b'{"items": [{}], "colour": 1}', "/colour"),
        (b'{"items": [{}], "format": "gif"}', "/format"),
        (b'{"items": [{}], "format": 3}', "/format"),
        (b'{"items": [{}], "scale": 0}', "/scale"),
        (b'{"items": [{}], "scale": NaN}', "/scale"),
        (b'{"items": [{}], "scale": true}', "/scale"),
        (b'{"items": [{}], "quality": 101}', "/quality"),
        (b'{"items": [{}], "quality": 1.5}', "/quality"),
        (b'{"items": [{}], "callback_url": 7}', "/callback_url"),
        (b'{"items": [{}], "output": ["storage://out/"]}', "/output"),
        (b'{"items": [{}], "name": ""}', "/name"),
        (b'{"items": [{}], "name": {"a": 1}}', "/name"),
        (b'{"items": [{}], "overwrite": true}', "/overwrite"),  # only with output
        (b'{"items": [{}], "output": "storage://out/", "overwrite": 1}', "/overwrite"),
        (b"\xff\xfe", ""),
    ],
)
def test_bad_batches_are_400_never_500(server: ServerProcess, body: bytes, pointer: str) -> None:
    refused(submit(server, body), 400, pointer)


def test_bad_items_and_rows_are_item_errors(server: ServerProcess) -> None:
    body = b'{"items": [1, null, "x", [], {"width": 1e999}, {"width": 10, "width": 20}]}'
    job = wait(server, accepted(submit(server, body), 6))
    assert job["failed"] == 6
    pointers = [i["details"][0]["pointer"] for i in job["items"]]
    assert pointers[:4] == ["/items/0", "/items/1", "/items/2", "/items/3"]
    assert pointers[4] == "/items/4/width"
    assert pointers[5] == "/items/5/width"
    rows = b'{"template": {"width": 1}, "rows": [3, {"a": NaN}, {"a": 1, "a": 2}]}'
    job = wait(server, accepted(submit(server, rows), 3))
    pointers = [i["details"][0]["pointer"] for i in job["items"]]
    assert pointers == ["/rows/0", "/rows/1/a", "/rows/2/a"]


def test_openapi_and_doc_page_list_the_batch_endpoints(server: ServerProcess) -> None:
    doc = httpx.get(server.url + "/openapi.json").json()
    submit_op = doc["paths"]["/api/v1/batch"]["post"]
    assert {"202", "400", "401", "403", "413", "415", "429"} <= set(submit_op["responses"])
    assert submit_op["security"] == [{"bearer": []}]
    schema = doc["components"]["schemas"]["BatchRequest"]
    assert schema["properties"]["items"]["maxItems"] == 25
    assert {"200", "404"} <= set(doc["paths"]["/api/v1/jobs/{id}"]["get"]["responses"])
    page = httpx.get(server.url + "/").text
    assert "/api/v1/batch" in page
    assert "/api/v1/jobs/" in page


# --- restarts ---------------------------------------------------------------------------------


def test_restart_fails_unfinished_jobs_and_keeps_finished_ones(
    tmp_path: Path, receiver: Receiver
) -> None:
    jobs = tmp_path / "jobs"
    config = _config(tmp_path, render_timeout=60, callback_backoff=0.05)
    argv = serve(
        *("--config", str(config), "--render-workers", "1", "--jobs-dir", str(jobs)),
        *("--storage", f"out={tmp_path / 'out'}"),
    )

    def start(name: str) -> ServerProcess:
        s = ServerProcess(argv, tmp_path / f"{name}.log", env=HEAVY_ENV)
        s.__enter__()
        return s

    first = start("first")
    try:
        done = accepted(submit(first, {"items": [CARD, card("two")]}, key=None), 2)
        before = wait(first, done, key=None)
        # Loopback is refused without an operator exception, even for the server's own host.
        r = submit(first, {"items": [CARD], "callback_url": receiver.url("/x")}, key=None)
        refused(r, 400, "/callback_url")
        killed = accepted(submit(first, {"items": [HEAVY, CARD]}, key=None), 2)
        wait(first, killed, until=("running",), key=None)
    finally:
        os.killpg(first.proc.pid, signal.SIGKILL)  # no chance to tidy up
        first.proc.wait(10)
        first.stop()

    second = start("second")
    try:
        job = get_job(second, killed, key=None).json()
        assert job["status"] == "failed"
        assert "stopped" in job["error"]
        assert job["finished"]
        assert [i["status"] for i in job["items"]] == ["error", "error"]
        assert "stopped" in job["items"][0]["details"][0]["message"]
        after = get_job(second, done, key=None).json()
        assert after == before  # finished jobs stay readable, images and all
        stopped = accepted(submit(second, {"items": [HEAVY]}, key=None), 1)
        wait(second, stopped, until=("running",), key=None)
    finally:
        second.stop()  # SIGTERM: a normal stop records the job as failed itself

    third = start("third")
    try:
        job = get_job(third, stopped, key=None).json()
        assert (job["status"], job["failed"]) == ("failed", 1)
        assert "stopped" in job["error"]
    finally:
        third.stop()


def test_serve_rejects_bad_storage_flags(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERER_")}
    for flag in ("nodir", "bad name=/tmp", "=x"):
        p = subprocess.run(
            [sys.executable, "-m", "renderer", "serve", "--port", "1", "--storage", flag],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert p.returncode == 2, p.stderr
        assert "storage" in p.stderr


def test_finished_jobs_expire_after_the_retention(tmp_path: Path) -> None:
    """A finished job and its images go once they are older than the retention; a running job,
    a recent one, and one whose callback is still being delivered stay."""
    from datetime import datetime, timedelta, timezone

    from renderer.server.jobs import Job, JobStore, new_job_id

    store = JobStore(tmp_path / "jobs", retention=3600)
    store.open()
    now = datetime.now(timezone.utc)

    def job(status: str, hours_ago: float | None, callback: str | None = None) -> Job:
        finished = None
        if hours_ago is not None:
            stamp = now - timedelta(hours=hours_ago)
            finished = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
        made = Job(
            new_job_id(),
            "bucket",
            store.token,
            "2026-01-01T00:00:00.000Z",
            "png",
            "image/png",
            [{"index": 0, "status": "ok"}],
            status=status,
            finished=finished,
            callback=None if callback is None else {"url": "http://x/", "status": callback},
        )
        store.write(made)
        store.image_path(made, 0).write_bytes(b"png")
        return made

    old, failed_old = job("done", 2), job("failed", 5)
    recent, running = job("done", 0.5), job("running", None)
    delivering = job("done", 3, callback="pending")
    assert store.prune() == 2
    for gone in (old, failed_old):
        assert not store.job_dir(gone.id).exists()
        assert store.load(gone.id) is None
    for kept in (recent, running, delivering):
        assert store.image_path(kept, 0).read_bytes() == b"png"
    assert store.prune(now + timedelta(hours=1)) == 1  # `recent` is old an hour later
    store.close()


def test_callback_secret_from_the_environment_is_kept_out_of_reprs() -> None:
    from renderer.server.config import load_config
    from renderer.server.jobs import sign_callback

    config = load_config(environ={"RENDERER_CALLBACK_SECRET": "s3cret-value"})
    assert config.callback_secret == "s3cret-value"
    assert "s3cret-value" not in repr(config)
    assert load_config(environ={}).callback_secret == ""  # unsigned unless configured
    headers = sign_callback("k", b'{"id":1}', now=1_700_000_000)
    assert headers == {
        "Renderer-Timestamp": "1700000000",
        "Renderer-Signature": "v1=" + hmac.new(b"k", b'1700000000.{"id":1}', "sha256").hexdigest(),
    }
