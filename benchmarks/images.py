"""Image sources at batch scale: N cards sharing one remote logo, as JSON lines.

A loopback HTTP server (started here, counting requests) serves one PNG logo; N cards each show
it (at different positions) with a per-card title. The point is the cache: the logo must be
fetched and decoded once for the whole batch, not once per card. Also times a cold render (first
card: fetch + decode + fit) against the warm ones, for SVG and PNG output.

Usage: python benchmarks/images.py [--cards 1000] [--format png|svg] [--threads 1]
Prints one JSON line per measurement, then a summary line with `logo_requests`.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw

import renderer
from renderer.policy import ImagePolicy
from renderer.resources import cache_loads, clear_caches

HITS: Counter[str] = Counter()


def _logo() -> bytes:
    """A 512 × 512 RGBA logo: big enough that decoding it per card would show in the timings."""
    im = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([16, 16, 496, 496], 96, fill=(79, 70, 229, 255))
    d.ellipse([160, 160, 352, 352], fill=(255, 255, 255, 230))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


LOGO = _logo()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        HITS[self.path] += 1
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(LOGO)))
        self.end_headers()
        self.wfile.write(LOGO)


def _card(i: int, url: str) -> dict[str, Any]:
    return {
        "width": 600,
        "height": 315,
        "background": "#0f172a",
        "components": [
            {"type": "image", "src": url, "width": 64, "height": 64, "x": 32 + i % 7, "y": 32},
            {
                "type": "text",
                "text": f"Release notes #{i}",
                "fontSize": 40,
                "fontWeight": "700",
                "color": "#ffffff",
                "x": 32,
                "y": 140,
            },
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--format", default="png", choices=["png", "svg"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/logo.png"
    policy = ImagePolicy(allow_loopback=True)  # the benchmark's own server, on loopback
    clear_caches()
    HITS.clear()

    def one(i: int) -> float:
        t0 = time.perf_counter()
        renderer.render(_card(i, url), args.format, image_policy=policy)
        return (time.perf_counter() - t0) * 1000

    cold = one(0)
    print(json.dumps({"bench": "images", "case": "cold-first-card", "ms": round(cold, 3)}))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        samples = sorted(pool.map(one, range(1, args.cards)))
    total = time.perf_counter() - t0
    p90 = samples[min(len(samples) - 1, int(0.9 * len(samples)))]
    print(
        json.dumps(
            {
                "bench": "images",
                "case": f"warm-{args.format}",
                "cards": len(samples),
                "threads": args.threads,
                "median_ms": round(statistics.median(samples), 3),
                "p90_ms": round(p90, 3),
                "cards_per_s": round(len(samples) / total, 1),
            }
        )
    )
    summary = {
        "bench": "images",
        "case": "summary",
        "cards": args.cards,
        "logo_requests": HITS["/logo.png"],
        "source_decodes": cache_loads(),
    }
    print(json.dumps(summary))
    httpd.shutdown()
    httpd.server_close()
    if summary["logo_requests"] != 1 or summary["source_decodes"] != 1:
        msg = "the shared logo was fetched or decoded more than once"
        raise SystemExit(msg)


if __name__ == "__main__":
    main()
