"""Quotas shared through Redis: two server replicas, one quota (issue 5, "several replicas").

Needs a real `redis-server` (Debian's package; `.ci/run` installs it). Started here on a free
loopback port with persistence off, and stopped at the end.
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_process import ServerProcess, free_port, serve

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server is not installed (Debian: apt-get install redis-server)",
)

SMALL = {"width": 40, "height": 20, "components": [{"type": "text", "text": "Hi", "fontSize": 10}]}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(d)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def replicas(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    d = tmp_path_factory.mktemp("replicas")
    config = d / "config.json"
    plans = {"tiny": {"requests": 4, "period": 3600}, "ten": {"requests": 10, "period": 3600}}
    config.write_text(json.dumps({"plans": plans}))
    argv = serve(
        "--config",
        str(config),
        "--rate-limit-store",
        redis_url,
        "--render-workers",
        "1",
    )
    env = {"RENDERER_API_KEYS": "shared-key:tiny,batch-key:ten"}
    with (
        ServerProcess(argv, Path(d / "a.log"), env) as a,
        ServerProcess(argv, Path(d / "b.log"), env) as b,
    ):
        yield [a.url, b.url]


def _post(url: str) -> httpx.Response:
    return httpx.post(
        url + "/api/v1/image",
        json=SMALL,
        headers={"Authorization": "Bearer shared-key"},
        timeout=30,
    )


def test_two_replicas_share_one_quota(replicas: list[str]) -> None:
    a, b = replicas
    remaining = []
    for url in (a, b, a, b):
        r = _post(url)
        assert r.status_code == 200
        remaining.append(r.headers["ratelimit-remaining"])
    assert remaining == ["3", "2", "1", "0"]
    for url in (a, b):
        r = _post(url)
        assert r.status_code == 429
        assert r.json()["error"] == "Rate limit exceeded"
        assert int(r.headers["retry-after"]) > 0


def test_concurrent_batches_on_two_replicas_spend_the_quota_exactly(replicas: list[str]) -> None:
    """Issue 11 row 12, through Redis: the check and the charge are one step (a Lua script), so
    ten 2-item batches sent at once to two replicas get exactly five through, and the refused
    five cost nothing."""

    def submit(i: int) -> httpx.Response:
        return httpx.post(
            replicas[i % 2] + "/api/v1/batch",
            json={"items": [SMALL, SMALL]},
            headers={"Authorization": "Bearer batch-key"},
            timeout=30,
        )

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(submit, range(10)))
    assert sorted(r.status_code for r in answers) == [202] * 5 + [429] * 5
    for url in replicas:
        r = httpx.post(
            url + "/api/v1/image", json=SMALL, headers={"Authorization": "Bearer batch-key"}
        )
        assert r.status_code == 429
        assert r.headers["ratelimit-remaining"] == "0"


def test_keys_are_not_stored_in_redis(replicas: list[str], redis_url: str) -> None:
    import redis

    _post(replicas[0])
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() if isinstance(k, bytes) else k for k in client.keys("*")]
    client.close()
    assert keys
    assert all("shared-key" not in k for k in keys)


def test_store_down_is_503_not_a_free_pass(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    argv = serve("--rate-limit-store", dead, "--render-workers", "1")
    with ServerProcess(argv, tmp_path / "s.log", {"RENDERER_API_KEYS": "k:free"}) as s:
        r = httpx.post(
            s.url + "/api/v1/image", json=SMALL, headers={"Authorization": "Bearer k"}, timeout=30
        )
    assert r.status_code == 503
    assert r.json()["error"] == "Rate-limit store unavailable"
    assert r.headers["retry-after"] == "5"
