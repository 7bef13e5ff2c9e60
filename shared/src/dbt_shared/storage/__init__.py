"""Where the services keep their documents: the one storage layer every repository uses.

A repository reads as MongoDB code: it asks a ``DocumentStore`` (``documents``) to insert a
document with its events, save a change guarded by the revision it was decided on
(compare-and-set: the loser gets ``StaleWrite``), page a list by key (``listing``), count
(``tallies``) and delete. Production runs MongoDB 7; the local stack and CI run FerretDB v1 on
PostgreSQL. What the embedded engine needs to be correct or fast lives here and nowhere else:

- ``document_locks``: FerretDB v1 does not make ``find_one_and_update`` with a revision in its
  filter atomic, so a save there takes the revision's lock (an inserted document: the unique
  ``_id`` index is the one atomic guard the engine has) before it writes. ``documents`` chooses
  the guard once, from the server it talks to (``needs_write_lock``): the filter alone on
  MongoDB, the lock on FerretDB. Needed for correctness, not speed.
- ``group_inserts``: inserts that an api's request threads make into one collection at the same
  moment, written as one command (one PostgreSQL transaction instead of one each).
- ``listing`` and ``sequences``: lists in numbered buckets, so a page reads one index range;
  FerretDB v1 pushes neither sort nor limit down when a filter is present.
- ``tallies``: counts kept as they change; a FerretDB ``count`` decodes every document counted.
- ``mongo``: one client per process; ``delete_ids`` deletes by ``_id`` one equality at a time
  (FerretDB pushes no ``$in`` down).
- ``memory_documents``: the ``DocumentStore`` contract in a dict, for unit tests.

Each module's docstring says what its adaptation buys, with the figure.
"""
