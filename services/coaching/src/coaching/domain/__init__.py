"""Coaching's domain: the clinic's rules for phone coaching, as plain classes and functions.

Here (this package and its modules): coaching requests, acknowledged within the program's
target minutes or escalated, and the 24-hour rule (after self-harm no non-emergency contact with
the therapist for a day, the safety route always open); on-call rotas and the coverage gaps
between shifts (``rota``); diary cards (``diary``); alliance check-ins, the flag of a rupture
and its repair, shared goals (``relationship``). The rules are functions over plain values and
the stored documents' dicts; the use cases in ``coaching.services`` build the events
(``dbt_shared.contracts.coaching``) from what they return.

Plain Python: no Flask, Kafka or pymongo import (a unit test checks).
"""
