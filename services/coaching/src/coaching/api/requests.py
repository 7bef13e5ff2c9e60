"""Coaching requests: asking (clients), reading, the clinicians' list, acknowledgement,
call-back, closure."""

from __future__ import annotations

from flask.views import MethodView

from coaching import services
from coaching.schemas import ClosureIn, Request, RequestArgs, RequestIn, RequestPage
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import SITE_STAFF
from dbt_shared.web import Blueprint, components

blp = Blueprint("requests", __name__, url_prefix="/v1", description="Coaching requests")


@blp.route("/coaching-requests")
class CoachingRequests(MethodView):
    @require_roles("client")
    @blp.arguments(RequestIn, example={"kind": "skills"})
    @blp.response(201, Request)
    @blp.alt_response(
        200, schema=Request, description="A crisis repeat joined the client's latest request"
    )
    @blp.alt_response(
        429,
        response="TOO_MANY_REQUESTS",
        headers={
            "Retry-After": {
                "description": "Seconds until the client's next non-crisis request is taken",
                "schema": {"type": "integer"},
            }
        },
    )
    def post(self, body):
        """Ask for coaching (the client, for themselves). The answer always carries the
        emergency route; a crisis request reaches the primary and the backup at once, whatever
        coaching knows of the client (what it could not check is in ``unverified``), and is
        never limited: a repeat within the site's ``crisis_repeat_minutes`` pages once more at
        most. Other requests: ``request_limit_per_hour`` per client (429, ``Retry-After``)."""
        request, created = services.requests.create(body, components(), current_principal())
        return request, 201 if created else 200

    @require_roles(*SITE_STAFF)
    @blp.arguments(RequestArgs, location="query")
    @blp.response(200, RequestPage)
    def get(self, args):
        """A site's requests: those in hand first, then the closed ones."""
        items, cursor = services.requests.list_requests(args, components(), current_principal())
        return {"items": items, "next_cursor": cursor}


@blp.route("/coaching-requests/<request_id>")
class CoachingRequest(MethodView):
    @require_roles(*SITE_STAFF, "client")
    @blp.response(200, Request)
    def get(self, request_id):
        """The request with its history (the client who asked; the site's clinicians)."""
        return services.requests.read(request_id, components(), current_principal())


@blp.route("/coaching-requests/<request_id>/acknowledgement")
class Acknowledgement(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(200, Request)
    def post(self, request_id):
        """A clinician of the site has the request (stops the acknowledgement deadline)."""
        return services.steps.acknowledge(request_id, components(), current_principal())


@blp.route("/coaching-requests/<request_id>/callback")
class Callback(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(200, Request)
    def post(self, request_id):
        """The client was called back (stops both deadlines)."""
        return services.steps.call_back(request_id, components(), current_principal())


@blp.route("/coaching-requests/<request_id>/closure")
class Closure(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.arguments(ClosureIn, example={"outcome": "skills_coached", "duration_minutes": 10})
    @blp.response(200, Request)
    def post(self, body, request_id):
        """The contact ended: outcome and minutes (the clinician's load)."""
        return services.steps.close(request_id, body, components(), current_principal())
