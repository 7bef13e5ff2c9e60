"""Coaching's own Prometheus metrics (the shared ones, RED per route and the consumer's, come from
``dbt_shared.metrics``).

None yet.
"""
