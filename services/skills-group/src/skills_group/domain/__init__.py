"""Skills Group's domain: the clinic's rules for skills groups, as plain classes and functions.

Nothing lives here yet. What will: curricula and the module calendar (a group cycles through
its program's curriculum, mindfulness opening each module; sessions fall in the site's time zone
and skip its closures); groups and their capacity, enrollments and the waitlist; attendance and
the four-miss rule (the program's consecutive-miss limit, late arrivals counted as absences,
whether prenotified absences count), and discharge or graduation at the end of a cycle. The
aggregates collect the events they cause (``dbt_shared.contracts.skills``).

Plain Python: no Flask, Kafka or pymongo import (a unit test checks).
"""
