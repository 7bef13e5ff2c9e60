"""Lists whose pages cost what one page shows, on MongoDB 7 and on FerretDB alike.

A plain ``find(equality).sort(_id).limit(n)`` is one index range on MongoDB, but FerretDB v1
pushes neither sort nor limit down when a filter is present: it reads, decodes and sorts every
document the equality matches (a site's whole history) for every page. So a listed document
also carries a **bucket number** per list it appears in: its place in that list's sequence,
divided by ``BUCKET_SIZE``. A page is then a walk over buckets, oldest first: one equality query
per bucket (``{...lane, field: bucket}``, sorted by ``_id``, limited), which reads at most one
bucket's documents on any server. A page of 50 touches one or two buckets.

- ``Sequences`` (``dbt_shared.storage.sequences``) hands out the numbers: one counter document per
  list key (``list_counters``), advanced with ``$inc``. Where the server loses an increment
  under concurrency (FerretDB does not make a read-modify-write atomic), two documents share a
  number: their bucket holds one more, and nothing else changes. A retried insert takes a
  number in vain: one fewer.
- A **lane** is one list walk: an equality query, the key of its sequence and the field that
  holds the bucket. A list over several lanes (a caller's sites, an inbox's priorities) reads
  them one after the other: the cursor names the lane, the bucket and the last id.
- A list that loses items from its front (a waitlist) keeps a **head**: the lowest bucket that
  may still hold a member. A walk that finds buckets at the front empty records it; one
  ``HEAD_CONFIRM`` later that finds them empty again moves the head past them (``$max``), as
  every number of those buckets was taken, and its write landed, by then (``sequences.Head``).
- A filter inside a lane (a status) walks the lane's buckets until the page is full: its cost is
  the buckets of that lane, a sixty-fourth of its documents, and still no sort of the history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from dbt_shared.clock import Clock, SystemClock
from dbt_shared.pagination import decode_cursor, encode_cursor
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from dbt_shared.storage.sequences import BlockSequences as BlockSequences
from dbt_shared.storage.sequences import Head, Sequences
from dbt_shared.storage.sequences import InMemorySequences as InMemorySequences
from dbt_shared.storage.sequences import MongoSequences as MongoSequences

if TYPE_CHECKING:
    from dbt_shared.storage.context import Storage

BUCKET_SIZE = 64
_SYSTEM_CLOCK = SystemClock()


def bucket_of(number: int) -> int:
    return number // BUCKET_SIZE


def place(document: dict[str, Any], sequences: Sequences, lanes: dict[str, str]) -> None:
    """Give a new ``document`` its bucket in each list: ``lanes`` maps field -> sequence key
    (the numbers of its lists taken at once: ``Sequences.take_each``). A field already set (a
    retried write of the same document) keeps its bucket."""
    wanted = {field: key for field, key in lanes.items() if field not in document}
    counts: dict[str, int] = {}
    for key in wanted.values():
        counts[key] = counts.get(key, 0) + 1
    firsts = sequences.take_each(counts)
    for field, key in wanted.items():
        document[field] = bucket_of(firsts[key])
        firsts[key] += 1


def place_many(
    documents: Sequence[dict[str, Any]],
    sequences: Sequences,
    lanes_of: Callable[[dict[str, Any]], dict[str, str]],
) -> None:
    """``place`` for a batch, in order: one ``take_many`` per sequence key, not one per
    document."""
    wanted: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for document in documents:
        for field, key in lanes_of(document).items():
            if field not in document:
                wanted.setdefault(key, []).append((document, field))
    firsts = sequences.take_each({key: len(places) for key, places in wanted.items()})
    for key, places in wanted.items():
        for offset, (document, field) in enumerate(places):
            document[field] = bucket_of(firsts[key] + offset)


@dataclass(frozen=True)
class Lane:
    """One walk of a list: documents matching ``query``, in the buckets of sequence ``key``
    that ``field`` holds. ``head_key`` names a head to start from (lists that lose members)."""

    query: dict[str, Any]
    key: str
    field: str
    head_key: str | None = None


class Finder(Protocol):
    def find(
        self,
        query: dict[str, Any],
        projection: dict[str, Any] | None = None,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 0,
    ) -> list[dict[str, Any]]: ...


def _position(cursor: str | None) -> tuple[int, int | None, str | None]:
    """(lane, bucket, last id) of a cursor. Any string of the cursor pattern is a place in the
    list: one this module did not write starts at the first lane after that id."""
    if not cursor:
        return 0, None, None
    text = decode_cursor(cursor)
    lane, _, rest = text.partition(".")
    bucket, _, last_id = rest.partition(".")
    if lane.isdigit() and bucket.isdigit() and last_id and len(lane) < 4 and len(bucket) < 12:
        return int(lane), int(bucket), last_id
    return 0, None, text


def page(
    store: Finder,
    lanes: Sequence[Lane],
    sequences: Sequences,
    *,
    limit: int,
    cursor: str | None,
    projection: dict[str, Any] | None = None,
    clock: Clock = _SYSTEM_CLOCK,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the list the ``lanes`` make, lane by lane, each oldest first (bucket, then
    ``_id``), and the cursor of the next page (``None`` at the end)."""
    start_lane, start_bucket, after = _position(cursor)
    found: list[tuple[int, int, dict[str, Any]]] = []
    wanted = limit + 1
    for index in range(start_lane, len(lanes)):
        lane = lanes[index]
        # Before the top is read: every number below it was taken by then (head-less lanes
        # keep no sightings, so they need no moment).
        started = clock.now() if lane.head_key else None
        top = bucket_of(sequences.top(lane.key))
        known = sequences.head(lane.head_key) if lane.head_key else Head()
        head = known.bucket
        continuing = index == start_lane and (start_bucket is not None or after is not None)
        first = max(head, start_bucket if continuing and start_bucket is not None else 0)
        in_lane = 0
        for bucket in range(first, top + 1):
            query = {**lane.query, lane.field: bucket}
            if continuing and after is not None and (start_bucket is None or bucket == first):
                query["_id"] = {"$gt": after}
            docs = store.find(query, projection, sort=[("_id", 1)], limit=wanted - len(found))
            if lane.head_key and not continuing and not in_lane and not docs and bucket == head:
                head += 1  # an empty bucket at the very front: the head may pass it
            in_lane += len(docs)
            found.extend((index, bucket, doc) for doc in docs)
            if len(found) >= wanted:
                break
        # The newest two buckets are always walked: a member whose row is still being written
        # holds a number there.
        if started is not None and min(head, top - 1) > known.bucket:
            moved = known.after_walk(min(head, top - 1), started)
            if moved != known:
                sequences.move_head(lane.head_key, moved)
        if len(found) >= wanted:
            break
    more = len(found) > limit
    found = found[:limit]
    if not (more and found):
        return [doc for _, _, doc in found], None
    lane_index, bucket, last = found[-1]
    return [doc for _, _, doc in found], encode_cursor(f"{lane_index}.{bucket}.{last['_id']}")


# -- slim rows -----------------------------------------------------------------------------------
class MongoRows:
    """The list rows of a collection (a few fields of each document), kept beside it; new rows
    go in with the process's other inserts of the moment (``storage.inserts``)."""

    def __init__(self, collection, *, storage: Storage) -> None:
        self.collection = collection
        self.storage = storage

    def put(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """Write ``row``; answers the row it replaced (``None`` for a new one)."""
        try:
            return self.collection.find_one_and_replace(  # index: _id
                {"_id": row["_id"]}, row, upsert=True, return_document=ReturnDocument.BEFORE
            )
        except DuplicateKeyError:  # another writer's upsert made it first: replace that one
            return self.collection.find_one_and_replace(
                {"_id": row["_id"]}, row, return_document=ReturnDocument.BEFORE
            )

    def put_new(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """``put`` for a row that should not exist yet: a plain insert (no read first)."""
        try:
            self.storage.inserts.of(self.collection).insert_one(dict(row))  # index: _id
            return None
        except DuplicateKeyError:
            return self.put(row)

    def find(self, query, projection=None, sort=None, limit=0):
        return list(self.collection.find(query, projection, sort=sort, limit=limit))

    def count(self, query: dict[str, Any]) -> int:
        # the ``count`` command: FerretDB pushes its filter down
        return int(
            self.collection.database.command("count", self.collection.name, query=query)["n"]
        )


class InMemoryRows:
    def __init__(self) -> None:
        self.store = InMemoryDocumentStore("row")

    def put(self, row: dict[str, Any]) -> dict[str, Any] | None:
        before = self.store.documents.get(row["_id"])
        self.store.documents[row["_id"]] = dict(row)
        return before

    put_new = put

    def find(self, query, projection=None, sort=None, limit=0):
        return self.store.find(query, projection, sort, limit)

    def count(self, query: dict[str, Any]) -> int:
        return self.store.count(query)
