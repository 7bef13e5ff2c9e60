"""Intake's use cases, one function each: the only code that loads, decides and saves.

Each takes the validated request (a plain dict), the service's ``Components`` (repositories,
cipher, clock) and the acting ``Principal``; HTTP views, event handlers and timers call them.
Grouped by aggregate: ``organisation`` (sites, programs, clinicians), ``referrals`` (the
pipeline), ``oversight`` (contact at send time, waitlist, audit trail).
"""
