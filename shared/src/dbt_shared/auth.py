"""Who acts on what: the caller (:class:`Principal`), the access rule of each view
(:func:`require_roles`, denied by default) and the site-scoped checks every service makes.

The caller comes from a bearer token checked by :mod:`dbt_shared.tokens`. Claims: ``roles``
(operator, coordinator, therapist, facilitator, client, service) and ``sites`` (the site ids
the subject may act on).

Where site roles come from is a setting of each trusted issuer (``AUTH_SITE_ROLES_FROM``,
``AUTH_EXTRA_SITE_ROLES_FROM``): ``token`` trusts the token's ``roles`` and ``sites`` (the dev
key of the dev and test profiles: each site role at each site of the token); ``directory`` (the
default, the identity provider) keeps only the organisation-wide roles of the token (operator,
client, service) and takes the roles at each site from the platform's staff directory
(``dbt_shared.staff_directory``, kept by every service from intake's events).

Who acts on what, written once here for every service:
- site staff act on a site where they hold one of the roles of the route's access rule (a
  coordinator at A and therapist at B is a coordinator at A only); an operator on every site of
  the organisation;
- a client acts only on themselves (subject = client id): the sites in a client's token never
  pass a site check (``can_act_on_site``);
- a service token names its calling service (``azp``, else a subject ``service:<name>``) and is
  admitted only by routes whose rule names that service (``"service:notifications"``); there it
  acts on every site.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import g

from dbt_shared import vocabulary
from dbt_shared.errors import NotFound
from dbt_shared.problems import PROBLEM_TYPE_BASE, Problem

ROLES = vocabulary.ROLES
_SITE_BOUND = vocabulary.STAFF_SITE_ROLES  # at the sites they hold them at
# The roles a ``directory`` issuer's token may assert: they are not held at a site.
ORG_WIDE = ("operator", "client", "service")
SITE_ROLES_FROM = ("token", "directory")
SERVICE_PREFIX = "service:"
#: What a service's name may be (in ``service:<name>`` rule entries and service tokens).
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def caller(service: str) -> str:
    """The access-rule entry that admits one calling service: ``caller("notifications")``."""
    if not SERVICE_NAME.match(service):
        raise ValueError(f"not a service name: {service!r}")
    return SERVICE_PREFIX + service


@dataclass(frozen=True)
class Principal:
    """Who acts: from a verified token (api), or the service itself (event handlers, timers)."""

    subject: str
    roles: frozenset[str]
    sites: frozenset[str]
    remote_addr: str | None = None
    # The calling service of a ``service`` token (``None`` for people).
    service_name: str | None = None
    # The roles held at each site. ``None``: the token's form, each site role of ``roles`` at
    # each site of ``sites``. From the staff directory: its memberships (``sites`` is then the
    # sites of those, ``roles`` the organisation-wide roles and every role held at some site).
    site_roles: Mapping[str, frozenset[str]] | None = field(default=None, hash=False)
    # The roles of the access rule that admitted this request (``acting_as``): a site check
    # then asks for one of those roles at that site. ``None``: any site role (outside a route).
    acting_roles: frozenset[str] | None = None
    # Where the site roles come from: ``token`` (the claims), or ``directory`` (still to be
    # read from the staff directory, ``dbt_shared.staff_directory``).
    site_roles_from: str = "token"

    @classmethod
    def service(cls, name: str) -> Principal:
        return cls(
            subject=SERVICE_PREFIX + name,
            roles=frozenset({"service"}),
            sites=frozenset(),
            service_name=name,
        )

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_service(self) -> bool:
        return "service" in self.roles and self.service_name is not None

    def admitted_by(self, rule: Iterable[str]) -> bool:
        """Whether an access rule (roles and ``service:<name>`` entries) admits this caller. A
        service is admitted only by a rule naming it: the bare role ``service`` admits none."""
        rule = tuple(rule)
        if self.has_role(*(r for r in rule if r != "service" and r in ROLES)):
            return True
        return self.is_service and SERVICE_PREFIX + str(self.service_name) in rule

    def acting_as(self, rule: Iterable[str]) -> Principal:
        """This caller as admitted by an access rule: its site checks then ask for one of the
        rule's roles at the site in question."""
        return dataclasses.replace(self, acting_roles=frozenset(rule))

    def roles_at(self, site_id: str) -> frozenset[str]:
        """The site roles held at ``site_id``."""
        if self.site_roles is None:
            return self.roles.intersection(_SITE_BOUND) if site_id in self.sites else frozenset()
        return self.site_roles.get(site_id, frozenset())

    def holds_at(self, site_id: str, *roles: str) -> bool:
        """Whether the caller holds one of ``roles`` at ``site_id`` (an operator, when the
        roles name it: at every site). For a use case's own finer rule ("coordinators of the
        client's site"), where ``has_role`` would ask of any site."""
        if "operator" in roles and "operator" in self.roles:
            return True
        return bool(self.roles_at(site_id).intersection(roles))

    def _wanted(self) -> frozenset[str]:
        wanted = frozenset(_SITE_BOUND)
        return wanted if self.acting_roles is None else wanted & self.acting_roles

    def can_act_on_site(self, site_id: str) -> bool:
        """Site staff of ``site_id`` holding there one of the roles of the rule that admitted
        the request (an operator: of every site), or a service (admitted by a route that names
        it). Never a client for the sites in its token: a client acts only on themselves
        (``is_client_self``)."""
        if "operator" in self.roles or self.is_service:
            return True
        return bool(self.roles_at(site_id) & self._wanted())

    def site_filter(self) -> frozenset[str] | None:
        """The sites a list query must be limited to (those where the caller holds one of the
        rule's roles); ``None`` means every site."""
        if "operator" in self.roles or self.is_service:
            return None
        known = self.sites if self.site_roles is None else frozenset(self.site_roles)
        return frozenset(s for s in known if self.roles_at(s) & self._wanted())

    def require_site(self, site_id: str, what: str = "site") -> None:
        """Another site's object answers 404: its existence is not disclosed."""
        if not self.can_act_on_site(site_id):
            raise NotFound(what)

    def is_client_self(self, client_id: str) -> bool:
        """A client acting on their own data (token subject = client id)."""
        return "client" in self.roles and self.subject == client_id

    def may_see_client(self, client_id: str, site_id: str | None) -> bool:
        """The client themselves, or the staff of the client's site (``None``: not known at a
        site, so only the client)."""
        if self.is_client_self(client_id):
            return True
        return site_id is not None and self.can_act_on_site(site_id)

    def require_client_self_or_site_staff(
        self, client_id: str, site_id: str | None, what: str = "client"
    ) -> None:
        """Anyone else gets 404: another client's existence is not disclosed."""
        if not self.may_see_client(client_id, site_id):
            raise NotFound(what)

    def scope(self, query: dict[str, Any], site_field: str = "site_id") -> dict[str, Any]:
        """Limit a list query to these sites (keeping any narrower site filter it has)."""
        sites = self.site_filter()
        if sites is None:
            return query
        scope = {site_field: {"$in": sorted(sites)}}
        return {"$and": [query, scope]} if site_field in query else {**query, **scope}


def unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        type_=PROBLEM_TYPE_BASE + "unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="dbt-platform"'},
    )


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, type_=PROBLEM_TYPE_BASE + "forbidden")


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise unauthorized("a bearer token is required")
    return principal


ACCESS_RULE_ATTR = "access_roles"


def require_roles(*roles: str) -> Callable:
    """Decorator: the access rule of a view, the roles of which the caller must hold one, and
    the calling services it admits (``"service:notifications"``, see ``caller``).

    Access is denied by default: ``create_service_app`` refuses (403) every ``/v1`` operation
    whose view carries no rule, and a caller the rule does not admit, before the view runs
    (``enforce_access_rule``). The rule is kept on the function (``functools.wraps`` carries
    it through flask-smorest's decorators).
    The bare role ``service`` is not a rule: a rule names each service that needs the route.
    """
    unknown = [
        r
        for r in roles
        if not (r in ROLES and r != "service")
        and not (r.startswith(SERVICE_PREFIX) and SERVICE_NAME.match(r[len(SERVICE_PREFIX) :]))
    ]
    if not roles or unknown:
        raise ValueError(
            f"an access rule needs known roles or 'service:<name>' callers, got {roles}"
        )

    def decorate(view: Callable) -> Callable:
        # Only kept: the rule is checked once, before the view (``enforce_access_rule``), so
        # the view runs with no wrapper of its own (one frame less on every request).
        setattr(view, ACCESS_RULE_ATTR, tuple(roles))
        return view

    return decorate


SIGNED_ATTR = "_dbt_signed_request"


def signed_request(view: Callable) -> Callable:
    """The access rule of a provider's webhook (an SMS provider's inbound messages): no bearer
    token, the view itself checks the request's signature and refuses anything unsigned."""
    setattr(view, SIGNED_ATTR, True)
    return view


def _method_of(view_function: Callable | None, method: str) -> Callable | None:
    view_class = getattr(view_function, "view_class", None)
    if view_class is not None:
        name = "get" if method.upper() == "HEAD" else method.lower()
        return getattr(view_class, name, None)
    return view_function


def is_signed_request(view_function: Callable | None, method: str) -> bool:
    return bool(getattr(_method_of(view_function, method), SIGNED_ATTR, False))


def access_rule_of(view_function: Callable | None, method: str) -> tuple[str, ...] | None:
    """The roles allowed to call ``method`` on a Flask view (a MethodView's method or a plain
    function), or ``None`` when the view has no rule."""
    if view_function is None:
        return None
    view_class = getattr(view_function, "view_class", None)
    if view_class is not None:
        name = "get" if method.upper() == "HEAD" else method.lower()
        view_function = getattr(view_class, name, None)
        if view_function is None:
            return None
    return getattr(view_function, ACCESS_RULE_ATTR, None)


def enforce_access_rule(view_function: Callable | None, method: str, principal: Principal) -> None:
    roles = access_rule_of(view_function, method)
    if roles is None:
        raise forbidden("no access rule allows this operation")
    if not principal.admitted_by(roles):
        raise forbidden(f"this needs one of the roles: {', '.join(roles)}")
    # The rule admits a holder of one of its roles at SOME site; a site check in the view then
    # asks for one of them at THAT site (``Principal.can_act_on_site``).
    g.principal = principal.acting_as(roles)


def require_site(site_id: str, what: str = "site") -> None:
    """``Principal.require_site`` for the caller of the request in hand."""
    current_principal().require_site(site_id, what)


def scope_query(query: dict[str, Any], site_field: str = "site_id") -> dict[str, Any]:
    """Limit a list query to the caller's sites (keeping any narrower site filter it has)."""
    return current_principal().scope(query, site_field)
