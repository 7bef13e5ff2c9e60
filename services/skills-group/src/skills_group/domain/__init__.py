"""Skills Group's domain: the clinic's rules for skills groups, as plain classes and functions.

Here (this package and its modules): groups and their capacity, enrollments and the waitlist;
curricula and the module calendar (``calendar``: a group cycles through its program's
curriculum, mindfulness opening each module; sessions fall in the site's time zone) and the
closures it skips or shifts (``closures``); attendance and the four-miss rule (``attendance``:
the program's consecutive-miss limit, late arrivals counted as absences, whether prenotified
absences count); placement at module boundaries (``placement``); calendar feeds (``feeds``).
The rules are functions over plain values and the stored documents' dicts; the use cases in
``skills_group.services`` build the events (``dbt_shared.contracts.skills``) from what they
return.

Plain Python: no Flask, Kafka or pymongo import (a unit test checks).
"""
