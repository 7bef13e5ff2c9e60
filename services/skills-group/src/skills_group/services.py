"""Skills Group's use cases, one function each: (command, components, principal) -> result.

None yet. The only things skills-group does today are the site directory's: learning sites and
programs from intake's events and listing them (``dbt_shared.site_directory``, the same in every
consuming service). Its own use cases (schedule a group, enroll a client, record attendance...)
start here, and views, handlers and timers call them.
"""
