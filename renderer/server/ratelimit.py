"""Request quotas per key: fixed windows (a calendar month, or N seconds) counted in a store.

`MemoryStore` counts in this process: right for one server process, wrong for several replicas
(or `--workers N`), where each would grant the full quota. `RedisStore` shares the count through
Redis (`INCRBY` + `EXPIRE` in one transaction), so any number of replicas enforce one quota. Every
authenticated request to the image endpoint counts, whatever its outcome, as hosted APIs count.

A batch job costs one request per item, taken all at once or not at all (`take`): the check and
the count are one step in the store (under the store's lock in this process; one Lua script in
Redis, which runs atomically), so ten concurrent batches can never all pass the check and then
all be counted, nor all be refused with the quota spent (issue 11). A refused batch takes nothing
(`peek` refuses an exhausted key before its body is read, without counting), and one refused
after its charge was taken gets it back (`give_back`).
"""

from __future__ import annotations

import asyncio
import calendar
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from .config import Plan

__all__ = ["Charge", "Quota", "RateLimiter", "StoreUnavailable", "make_store"]


class StoreUnavailable(Exception):
    """The shared store cannot be reached; the request gets 503, never a free pass."""


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    remaining: int
    reset_at: float  # unix time, s, when the window ends
    exceeded: bool

    def headers(self, now: float) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(max(0, round(self.reset_at - now))),
        }

    def retry_after_iso(self) -> str:
        stamp = datetime.fromtimestamp(self.reset_at, timezone.utc)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Charge:
    """Requests taken by `RateLimiter.take`, with what is needed to give them back."""

    key: str
    ttl: int
    amount: int


class Store(Protocol):
    async def hit(self, key: str, ttl: int, amount: int = 1) -> int:
        """Add `amount` (default one; negative to give back) to `key` (created with `ttl` seconds
        to live) and return the new count."""

    async def take(self, key: str, ttl: int, amount: int, limit: int) -> tuple[int, bool]:
        """In one atomic step: add `amount` to `key` if the count stays within `limit`.
        Returns the count after, and whether it was added."""

    async def get(self, key: str) -> int:
        """The count of `key` (0 when absent)."""

    async def close(self) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str, ttl: int, amount: int = 1) -> int:
        async with self._lock:
            return self._add(key, ttl, amount)

    async def take(self, key: str, ttl: int, amount: int, limit: int) -> tuple[int, bool]:
        async with self._lock:
            count = self._counts.get(key, (0, 0.0))[0]
            if count + amount > limit:
                return count, False
            return self._add(key, ttl, amount), True

    async def get(self, key: str) -> int:
        async with self._lock:
            return self._counts.get(key, (0, 0.0))[0]

    def _add(self, key: str, ttl: int, amount: int) -> int:
        now = time.time()
        if len(self._counts) > 10_000:  # drop expired windows now and then
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        count, expires = self._counts.get(key, (0, now + ttl))
        self._counts[key] = (count + amount, expires)
        return count + amount

    async def close(self) -> None:
        return None


# KEYS[1] = the window's key; ARGV = amount, limit, ttl. Scripts run atomically in Redis.
_TAKE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if count + amount > tonumber(ARGV[2]) then
  return {count, 0}
end
count = redis.call('INCRBY', KEYS[1], amount)
if redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return {count, 1}
"""


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis.asyncio

        self._client: Any = redis.asyncio.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._take: Any = self._client.register_script(_TAKE)

    async def hit(self, key: str, ttl: int, amount: int = 1) -> int:
        import redis.exceptions

        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incrby(key, amount)
                pipe.expire(key, ttl, nx=True)
                count, _ = await pipe.execute()
        except (redis.exceptions.RedisError, OSError) as e:
            raise StoreUnavailable(type(e).__name__) from None
        return int(count)

    async def take(self, key: str, ttl: int, amount: int, limit: int) -> tuple[int, bool]:
        import redis.exceptions

        try:
            count, taken = await self._take(keys=[key], args=[amount, limit, ttl])
        except (redis.exceptions.RedisError, OSError) as e:
            raise StoreUnavailable(type(e).__name__) from None
        return int(count), bool(taken)

    async def get(self, key: str) -> int:
        import redis.exceptions

        try:
            value = await self._client.get(key)
        except (redis.exceptions.RedisError, OSError) as e:
            raise StoreUnavailable(type(e).__name__) from None
        return int(value or 0)

    async def close(self) -> None:
        await self._client.aclose()


def make_store(url: str) -> Store:
    if url == "memory":
        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url)
    msg = f"rate-limit store must be 'memory' or a redis:// URL. Received: {url.split(':')[0]}:…"
    raise ValueError(msg)


def _window(plan: Plan, now: float) -> tuple[str, float]:
    """The window's id and its end (unix time) for a plan at `now`."""
    if plan.period == "month":
        t = time.gmtime(now)
        year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
        return f"{t.tm_year}-{t.tm_mon:02d}", float(calendar.timegm((year, month, 1, 0, 0, 0)))
    period = int(plan.period)
    index = int(now // period)
    return f"{period}s{index}", float((index + 1) * period)


class RateLimiter:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def check(self, plan: Plan, bucket: str) -> Quota | None:
        """Count one request; None for a plan without a quota. May raise `StoreUnavailable`."""
        if plan.requests is None:
            return None
        now = time.time()
        window, reset_at = _window(plan, now)
        count = await self.store.hit(
            f"renderer:rl:{plan.name}:{bucket}:{window}", int(reset_at - now) + 60
        )
        return Quota(plan.requests, max(0, plan.requests - count), reset_at, count > plan.requests)

    async def peek(self, plan: Plan, bucket: str) -> Quota | None:
        """The quota as it stands, counting nothing: `exceeded` when no request is left. None
        for a plan without a quota. May raise `StoreUnavailable`."""
        if plan.requests is None:
            return None
        now = time.time()
        window, reset_at = _window(plan, now)
        count = await self.store.get(f"renderer:rl:{plan.name}:{bucket}:{window}")
        return Quota(plan.requests, max(0, plan.requests - count), reset_at, count >= plan.requests)

    async def take(
        self, plan: Plan, bucket: str, amount: int
    ) -> tuple[Quota, Charge | None] | None:
        """Count `amount` requests at once (a batch's items) if all of them fit, in one atomic
        step; else count nothing, and the quota says `exceeded` (the charge is None). None for a
        plan without a quota. May raise `StoreUnavailable`."""
        if plan.requests is None:
            return None
        now = time.time()
        window, reset_at = _window(plan, now)
        key, ttl = f"renderer:rl:{plan.name}:{bucket}:{window}", int(reset_at - now) + 60
        count, taken = await self.store.take(key, ttl, amount, plan.requests)
        quota = Quota(plan.requests, max(0, plan.requests - count), reset_at, not taken)
        return quota, Charge(key, ttl, amount) if taken else None

    async def give_back(self, charge: Charge) -> None:
        """Return what `take` counted, to the window it was counted in."""
        await self.store.hit(charge.key, charge.ttl, -charge.amount)
