"""Where the services keep their documents: the one storage layer every repository uses.

A repository reads as MongoDB code: it asks a ``DocumentStore`` (``documents``) to insert a
document with its events, save a change guarded by the revision it was decided on
(compare-and-set: the loser gets ``StaleWrite``), page a list by key (``listing``), count
(``tallies``) and delete. A service's bootstrap builds one ``Storage`` (``context``) per process
and hands it to its repositories. Production runs MongoDB 7, which needs none of what follows;
the local stack and CI run FerretDB v1 on PostgreSQL. What that engine needs to be correct or
fast lives here and nowhere else. Figures: ``make bench-storage`` at one clinic-year (20k rows,
1,000 a site), off (the plain MongoDB way, on the same FerretDB) against on; the full table,
the threshold and the verdicts are in ``docs/storage.md``:

- ``document_locks``: FerretDB v1 applies an update as an unlocked read-then-write, so a save
  there takes its revision's lock (an inserted document: the unique ``_id`` index is the one
  atomic guard the engine has). The guard is chosen once per process, from the server
  (``needs_write_lock``, asked by ``Storage.write_lock``): the filter alone on MongoDB, the lock
  on FerretDB. Correctness: 8 writers x 20 saves of one document lost 106 of 160 saves without
  it, 0 with it; it costs a save 6.0 -> 9.3 ms. Its deferred deletes (a used lock deleted a
  moment later, with others) buy a save little speed (1.1-1.3x) but keep a spent revision's
  lock held a moment, which stops a stale writer before it writes: deleted at once, a kept save
  was reported lost in 2 of 3 runs of the concurrent-writes test.
- ``group_inserts``: inserts that an api's request threads make into one collection at the same
  moment, written as one command: 8 threads x 60 inserts, p99 of an insert 32.2 -> 16.1 ms.
- ``listing`` and ``sequences``: lists in numbered buckets, so a page reads one bucket (FerretDB
  pushes neither sort nor limit down when a filter is present): a site's first page 73.3 ->
  6.8 ms (328 -> 15.5 ms at 50k); the list head for a list that loses its front 41.9 -> 14.9 ms;
  block sequences hand out list numbers at 10,280/s instead of 816/s, none twice (a plain
  ``$inc`` gave 296 of 400 twice).
- ``tallies``: counts kept as they change (a FerretDB ``count`` decodes every document counted):
  a site's six waitlist counts 129 -> 1.6 ms, every site's 2,297 -> 9.2 ms; 8 threads x 50
  adjustments lost 298 of 400 increments as plain ``$inc``, 0 as tallies.
- ``mongo``: the client of the composition root; ``delete_ids`` deletes by ``_id`` one equality
  at a time (FerretDB pushes no ``$in`` down): 20 ids out of 20k documents 2,100 -> 15.7 ms.
- ``memory_documents``: the ``DocumentStore`` contract in a dict, for unit tests.
"""
