"""Take the README's screenshot of `renderer preview`: `examples/preview.png`.

Starts `renderer preview examples/blog.json` on a free loopback port, opens it in Debian's
Chromium through Playwright (`pip install -e ".[dev]"` installs it), turns the box overlay on and
saves the window. The test suite runs `capture` on its own preview page, so this keeps working.

    python examples/screenshot.py [--out examples/preview.png]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
SIZE = (1280, 720)  # px, the window
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def capture(page: Page, url: str, out: Path) -> None:
    """Open the preview at `url`, show the boxes, and save the window as PNG at `out`."""
    page.set_viewport_size({"width": SIZE[0], "height": SIZE[1]})
    page.goto(url)
    page.wait_for_function("() => Number(document.body.dataset.rendered || 0) > 0")
    page.check("#overlay")
    page.screenshot(path=str(out))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    msg = f"renderer preview did not answer at {url}"
    raise SystemExit(msg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "preview.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    spec = "examples/blog.json"  # as a user types it: the page shows the path
    cmd = [sys.executable, "-m", "renderer", "preview", spec, "--port", str(port), "--no-open"]
    proc = subprocess.Popen(cmd, cwd=HERE.parent, stdout=subprocess.DEVNULL)
    try:
        _wait(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=FLAGS)
            capture(browser.new_page(), url, args.out)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
