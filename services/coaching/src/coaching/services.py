"""Coaching's use cases, one function each: (command, components, principal) -> result.

None yet. The only things coaching does today are the site directory's: learning sites and
programs from intake's events and listing them (``dbt_shared.site_directory``, the same in every
consuming service). Its own use cases (publish a rota, open a coaching request, acknowledge it,
submit a diary card...) start here, and views, handlers and timers call them.
"""
