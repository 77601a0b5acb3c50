"""What an image source may be and where it may come from: one frozen `ImagePolicy` value.

The resources stage asks the policy before it reads a byte: which URL schemes, which hosts and
networks, whether local paths (and which folders) and SVG sources are allowed, and how long and how
large a fetch may be. The library and CLI default (`DEFAULT_POLICY`) allows paths and SVG, because
the person running them owns the machine; `ImagePolicy.server()` is what a network service should
pass: no paths unless the operator names folders, no SVG unless enabled. Neither default ever
reaches loopback, private, link-local, multicast, reserved or cloud-metadata addresses; tests that
need a loopback server switch that on explicitly with `allow_loopback=True`.

Byte and pixel bounds of a source live in `Limits` (`max_image_bytes`, `max_image_pixels`), so one
value bounds every entry point; the policy holds the rest.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["DEFAULT_POLICY", "IPNetwork", "ImagePolicy"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


@dataclass(frozen=True, slots=True)
class ImagePolicy:
    """Where image sources may come from and how far a fetch may go. Hashable: it keys caches."""

    # Local files: None = any path (library, CLI); () = none (server default); else only files
    # inside these folders (after resolving symlinks).
    allow_paths: tuple[Path, ...] | None = None
    allow_svg: bool = True  # SVG sources, rasterized in a bounded subprocess
    allow_urls: bool = True  # http(s) sources at all
    schemes: tuple[str, ...] = ("http", "https")
    # Operator exceptions to the address rules: host names (exact, or "*.example.com" for any
    # subdomain) whose addresses are not checked, and networks ("10.1.0.0/16") that are allowed.
    allow_hosts: tuple[str, ...] = ()
    allow_networks: tuple[str, ...] = ()
    allow_loopback: bool = False  # 127.0.0.0/8 and ::1: for tests against a local server
    allow_private: bool = False  # RFC 1918, unique-local, shared (CGNAT): for intranet installs
    fetch_timeout: float = 5.0  # s, total per source: DNS, connect, redirects and whole body
    max_redirects: int = 3
    max_url_length: int = 2048  # characters
    max_image_side: int = 16_384  # px, either side of a decoded source
    svg_timeout: float = 1.5  # s, wall clock of the SVG subprocess (start-up included)
    svg_memory: int = 1 << 30  # bytes of address space for that subprocess
    cache_dir: Path | None = None  # optional on-disk HTTP cache (Cache-Control / ETag)
    cache_max_bytes: int = 256 << 20  # of bodies in cache_dir; the least recently used go first
    user_agent: str = "renderer-image-fetcher/0.1"
    _networks: tuple[IPNetwork, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.fetch_timeout <= 0 or self.svg_timeout <= 0:
            msg = "fetch_timeout and svg_timeout must be > 0 seconds"
            raise ValueError(msg)
        if self.cache_max_bytes < 0:
            msg = "cache_max_bytes must be >= 0"
            raise ValueError(msg)
        if self.allow_paths is not None:
            folders = tuple(Path(p).resolve() for p in self.allow_paths)
            object.__setattr__(self, "allow_paths", folders)
        object.__setattr__(self, "schemes", tuple(s.lower() for s in self.schemes))
        object.__setattr__(self, "allow_hosts", tuple(h.lower() for h in self.allow_hosts))
        # Parsed once, so a typo fails at start-up rather than on the first fetch.
        object.__setattr__(self, "_networks", _networks(self.allow_networks))

    @classmethod
    def server(
        cls, *, allow_paths: tuple[Path, ...] = (), allow_svg: bool = False, **kwargs: object
    ) -> ImagePolicy:
        """The policy for a network service: no files unless folders are named, no SVG."""
        return cls(allow_paths=allow_paths, allow_svg=allow_svg, **kwargs)  # type: ignore[arg-type]

    def with_changes(self, **kwargs: object) -> ImagePolicy:
        """A copy with some fields changed (`dataclasses.replace`, typed for callers)."""
        return replace(self, **kwargs)  # type: ignore[arg-type]

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        """`allow_networks`, parsed."""
        return self._networks

    def host_allowed(self, host: str) -> bool:
        """Whether the operator named `host` (lower-case, no port) as trusted."""
        for pattern in self.allow_hosts:
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
            if host == pattern:
                return True
        return False


DEFAULT_POLICY = ImagePolicy()
