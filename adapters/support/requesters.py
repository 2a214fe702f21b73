"""Who asked: the e-mail address of each ticket requester, remembered for a while.

Tickets name their requester by user id only. The adapter fills ``requester_email`` with one batched
``users/show_many`` call per page of tickets for the requesters it does not know yet, and remembers every
user it reads (contact reads included), so a page whose requesters were seen recently costs nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: Bounds the memory of a long-running hub; the oldest entries go first.
MAX_ENTRIES = 50_000


class RequesterDirectory:
    """User id -> e-mail address (``None`` for users without one), each entry kept ``ttl_seconds``."""

    def __init__(self, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[str | None, float]] = {}

    def remember(self, users: Iterable[Mapping[str, Any]]) -> None:
        if self.ttl_seconds <= 0:
            return
        expires = self._clock() + self.ttl_seconds
        for user in users:
            user_id = user.get("id")
            if user_id is None:
                continue
            email = user.get("email")
            key = str(user_id)
            self._entries.pop(key, None)  # re-inserted last: the dict's order is the eviction order
            self._entries[key] = (email if isinstance(email, str) and email else None, expires)
        while len(self._entries) > MAX_ENTRIES:
            del self._entries[next(iter(self._entries))]

    def known(self, user_id: str) -> bool:
        entry = self._entries.get(user_id)
        if entry is None:
            return False
        if entry[1] <= self._clock():
            del self._entries[user_id]
            return False
        return True

    def email(self, user_id: str) -> str | None:
        entry = self._entries.get(user_id)
        return entry[0] if entry is not None else None

    def missing(self, user_ids: Iterable[str]) -> list[str]:
        """The ids (each once, in order) this directory cannot answer for."""
        return [user_id for user_id in dict.fromkeys(user_ids) if not self.known(user_id)]
