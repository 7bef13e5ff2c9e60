"""Coaching's HTTP schemas (Marshmallow): request validation, responses and the OpenAPI document
of its own resources.

None yet: the site directory's schemas are shared's (``dbt_shared.site_directory``). Value sets
(request statuses, check-in kinds) are imported from the domain or the event contracts, never
retyped.
"""
