"""A therapist's console reads: the caseload, a client's diary card week day by day, the
24-hour rule's state, and a clinician's after-hours contacts against the team's median."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from coaching import services
from coaching.schemas import Urge, WeekArgs
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.http_fields import response_schema
from dbt_shared.vocabulary import SITE_STAFF
from dbt_shared.web import Blueprint, components

blp = Blueprint("caseload", __name__, url_prefix="/v1", description="A therapist's caseload")

RuleState = response_schema(
    "TwentyFourHourRule",
    applies=fields.Boolean(metadata={"description": "the client's program keeps the rule"}),
    active=fields.Boolean(metadata={"description": "non-crisis requests are held now"}),
    self_harm_at=fields.DateTime(allow_none=True),
    until=fields.DateTime(allow_none=True),
)


class RuleStateOut(RuleState):
    client_id = fields.String()


CaseloadItem = response_schema(
    "CaseloadItem",
    "client_id site_id program_id therapist_id",
    admitted_at=fields.String(allow_none=True),
    group_discharged_at=fields.String(allow_none=True),
    open_ruptures=fields.Integer(),
    twenty_four_hour_rule=fields.Nested(RuleState),
)


class Caseload(Schema):
    clinicians = fields.List(
        fields.Nested(response_schema("OwnClinicianRecord", "id site_id")),
        metadata={"description": "the caller's clinician records, one per site"},
    )
    items = fields.List(fields.Nested(CaseloadItem))


DiaryDay = response_schema(
    "DiaryDay",
    "date",
    filled=fields.Boolean(),
    emotions=fields.Dict(keys=fields.String(), values=fields.Integer()),
    urges=fields.List(fields.Nested(Urge)),
    skills_used=fields.List(fields.String()),
    distress=fields.Integer(allow_none=True),
)
DiaryWeek = response_schema(
    "DiaryWeek", "client_id week from to", days=fields.List(fields.Nested(DiaryDay))
)


def _period() -> dict[str, fields.Field]:
    return {
        "contacts": fields.Integer(metadata={"description": "contacts with minutes after hours"}),
        "minutes": fields.Integer(metadata={"description": "their minutes outside business hours"}),
        "team_median_contacts": fields.Float(),
    }


AfterHours = response_schema(
    "AfterHoursLoad",
    "clinician_id site_id",
    team_size=fields.Integer(),
    week=fields.Nested(response_schema("AfterHoursWeek", "from to", **_period())),
    month=fields.Nested(response_schema("AfterHoursMonth", "month", **_period())),
)


@blp.route("/caseload")
class CaseloadView(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(200, Caseload)
    def get(self):
        """The caller's own clients (their clinician records at each site), each with open
        ruptures and the 24-hour rule's state. Audited: one record per site names them all."""
        return services.caseload.caseload(components(), current_principal())


@blp.route("/clients/<client_id>/diary-cards")
class DiaryWeekView(MethodView):
    @require_roles("client", "therapist")
    @blp.arguments(WeekArgs, location="query")
    @blp.response(200, DiaryWeek)
    def get(self, args, client_id):
        """The ISO week's diary cards day by day (the client and their therapist), for the
        therapist's chart: emotions, urges and whether acted on, skills used, distress."""
        return services.caseload.diary_week(client_id, args, components(), current_principal())


@blp.route("/clients/<client_id>/twenty-four-hour-rule")
class RuleView(MethodView):
    @require_roles("client", *SITE_STAFF)
    @blp.response(200, RuleStateOut)
    def get(self, client_id):
        """Whether the 24-hour rule holds the client's non-crisis requests now, and until when
        (the client, their therapist, the site's coordinators). Audited."""
        return services.caseload.twenty_four_hour_rule(client_id, components(), current_principal())


@blp.route("/clinicians/<clinician_id>/after-hours")
class AfterHoursView(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(200, AfterHours)
    def get(self, clinician_id):
        """Contacts outside business hours this week and month (site time) against the median
        of the site's clinicians: the early warning of fatigue (the clinician; the site's
        coordinators)."""
        return services.caseload.after_hours(clinician_id, components(), current_principal())


QueueVersion = response_schema("CoachingQueueVersion", "site_id version", in_hand=fields.Integer())


@blp.route("/sites/<site_id>/coaching-queue-version")
class QueueVersionView(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(200, QueueVersion)
    def get(self, site_id):
        """An opaque digest of the site's requests in hand that the caller may see: poll it,
        and read ``GET /v1/coaching-requests`` (audited) only when it changed. Holds no client
        data."""
        return services.caseload.queue_version(site_id, components(), current_principal())
