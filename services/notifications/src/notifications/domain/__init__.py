"""Notifications' domain: purposes and priorities, email texts, recipients, quiet hours, the retry
schedule, what each intake event leaves behind, and what one send attempt does to a delivery.

Plain Python: no Flask, Kafka or pymongo import. Tested in milliseconds (``tests/unit``).
"""
