"""Coaching's domain: the clinic's rules for phone coaching, as plain classes and functions.

Nothing lives here yet. What will: on-call rotas and the coverage gaps between shifts; coaching
requests, acknowledged within the program's target minutes or escalated, and the 24-hour rule
(after self-harm no non-emergency contact with the therapist for a day, the safety route always
open); diary cards; alliance check-ins and the flag of a rupture. The aggregates collect the
events they cause (``dbt_shared.contracts.coaching``).

Plain Python: no Flask, Kafka or pymongo import (a unit test checks).
"""
