"""Process-wide tuning the server applies once, when the hub has started.

CPython's cyclic garbage collector rescans every container object it tracks on each full collection. A
hub holds hundreds of thousands of them for its whole life (modules, the schema, adapters, pools), and a
request allocates many more (records, GraphQL results), so with the default settings collections took a
third of the CPU of a customer 360 page and half of a bulk export's. Freezing what exists after start-up
takes it out of the collector's sight for good, and a larger young generation lets most of a request's
short-lived objects die before a collection is even run.
"""

from __future__ import annotations

import gc

#: Allocations (net of deallocations) between two young collections; CPython's default is 700.
YOUNG_GENERATION_THRESHOLD = 10_000


def settle_after_startup() -> None:
    """Collect start-up garbage, freeze the survivors, and widen the young generation."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
