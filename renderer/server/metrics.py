"""Prometheus metrics in the text exposition format (0.0.4), written by hand.

Why by hand: four counters and one histogram do not justify a dependency, and the format is
stable. Values are per server process: with `--workers N` each uvicorn worker keeps its own, and a
scrape sees whichever answered (scrape each replica, or run one worker per replica).
"""

from __future__ import annotations

import bisect
from collections import Counter

__all__ = ["Metrics"]

_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)  # s


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()  # (route, method, status)
        self.renders: Counter[str] = Counter()  # by format
        self._bucket_counts = [0] * (len(_BUCKETS) + 1)
        self._sum = 0.0
        self._count = 0

    def observe_render(self, fmt: str, seconds: float) -> None:
        self.renders[fmt] += 1
        self._bucket_counts[bisect.bisect_left(_BUCKETS, seconds)] += 1
        self._sum += seconds
        self._count += 1

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        """The exposition text; `gauges` maps name → (help, value) for pool state."""
        out = [
            "# HELP renderer_http_requests_total HTTP requests by route, method and status.",
            "# TYPE renderer_http_requests_total counter",
        ]
        for (route, method, status), n in sorted(self.requests.items()):
            out.append(
                f'renderer_http_requests_total{{route="{route}",method="{_esc(method)}",'
                f'status="{status}"}} {n}'
            )
        out += [
            "# HELP renderer_renders_total Images rendered, by format.",
            "# TYPE renderer_renders_total counter",
        ]
        out += [
            f'renderer_renders_total{{format="{f}"}} {n}' for f, n in sorted(self.renders.items())
        ]
        out += [
            "# HELP renderer_render_seconds Time from dispatch to a worker until its answer.",
            "# TYPE renderer_render_seconds histogram",
        ]
        cumulative = 0
        for bound, n in zip(_BUCKETS, self._bucket_counts, strict=False):
            cumulative += n
            out.append(f'renderer_render_seconds_bucket{{le="{bound}"}} {cumulative}')
        out.append(f'renderer_render_seconds_bucket{{le="+Inf"}} {self._count}')
        out.append(f"renderer_render_seconds_sum {self._sum:.6f}")
        out.append(f"renderer_render_seconds_count {self._count}")
        for name, (help_text, value) in sorted(gauges.items()):
            kind = "counter" if name.endswith("_total") else "gauge"
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value:g}"]
        return "\n".join(out) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
