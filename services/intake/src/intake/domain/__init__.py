"""Intake's domain: the referral pipeline, screening scores, therapist matching, program settings.

Plain Python: no Flask, Kafka or pymongo import. Tested in milliseconds (``tests/unit``).
"""
