"""Records kept only for a while (consumers' dedup records, idempotency keys), and how they go.

Each such record carries the day it was written (``day``: whole days since 1970-01-01, UTC), and
the workers' hourly housekeeping deletes whole days by equality (index ``day``), the days that
ended before the retention's cutoff. A range on the write time would be one query, but FerretDB
pushes no range down: every run decoded every record kept, on collections that grow with the
traffic. An equality delete of a day costs what that day holds; a day already deleted costs one
index lookup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import DeleteMany
from pymongo.collection import Collection

from dbt_shared.clock import aware

DAY_FIELD = "day"
SECONDS_PER_DAY = 86_400
# Days before the cutoff each run still deletes: a worker stopped for longer than this leaves
# the records of the days before, which it never looks at again.
LOOKBACK_DAYS = 30


def day_of(moment: datetime) -> int:
    return int(aware(moment).timestamp()) // SECONDS_PER_DAY


def stamp(moment: datetime) -> dict[str, Any]:
    """The fields that let housekeeping find a record written at ``moment``."""
    return {DAY_FIELD: day_of(moment)}


def ensure_index(collection: Collection) -> None:
    collection.create_index(DAY_FIELD, name=DAY_FIELD)


def forget_before(collection: Collection, cutoff: datetime) -> int:
    """Delete the records of every day that ended by ``cutoff``; answers how many. The
    cutoff's own day is kept whole until it has passed (index: day)."""
    last = day_of(cutoff)
    days = [DeleteMany({DAY_FIELD: day}) for day in range(last - LOOKBACK_DAYS, last)]
    return collection.bulk_write(days, ordered=False).deleted_count  # one command
