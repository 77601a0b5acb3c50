"""API keys: who is calling, and on which plan.

Keys are compared as SHA-256 digests with `hmac.compare_digest`, against every configured key
without stopping at a match, so neither the time taken nor an early exit tells an attacker how
much of a guess was right. With no key configured every request is on the `open` plan.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from .config import OPEN_PLAN, Plan, ServerConfig

__all__ = ["AuthFailure", "Caller", "Keyring"]


@dataclass(frozen=True, slots=True)
class Caller:
    plan: Plan
    bucket: str  # rate-limit identity: a digest of the key, never the key itself


@dataclass(frozen=True, slots=True)
class AuthFailure:
    status: int  # 401 (no usable header) or 403 (unknown key)
    error: str


class Keyring:
    def __init__(self, config: ServerConfig) -> None:
        self._plans = config.plans
        self._keys = [
            (hashlib.sha256(k.encode()).digest(), plan) for k, plan in config.api_keys.items()
        ]

    @property
    def open(self) -> bool:
        """True when no key is configured: everyone may call, on the `open` plan."""
        return not self._keys

    def authenticate(self, authorization: str | None) -> Caller | AuthFailure:
        if self.open:
            return Caller(self._plans[OPEN_PLAN], "open")
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            return AuthFailure(401, "Missing or invalid Authorization header")
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        found: str | None = None
        for known, plan in self._keys:
            if hmac.compare_digest(known, digest):
                found = plan
        if found is None:
            return AuthFailure(403, "Invalid API key")
        return Caller(self._plans[found], digest.hex()[:32])
