"""The marketing product's JSON shapes and its ``fields`` / ``exclude_fields`` projection."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..http import utc_offset
from .data import Campaign, CampaignReport, MarketingData, Member


def member_json(data: MarketingData, member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "email_address": member.email,
        "unique_email_id": member.id[:10],
        "contact_id": member.id[::-1],
        "full_name": f"{member.first_name} {member.last_name}".strip(),
        "web_id": 500_000 + member.index,
        "email_type": "html",
        "status": member.status,
        "consents_to_one_to_one_messaging": True,
        "merge_fields": {
            "FNAME": member.first_name,
            "LNAME": member.last_name,
            "COMPANY": member.company,
            "PHONE": member.phone,
            "ERPCODE": member.erp_code,
        },
        "interests": {},
        "stats": {"avg_open_rate": member.open_rate, "avg_click_rate": member.click_rate},
        "ip_signup": "",
        "timestamp_signup": utc_offset(member.signup) if member.source == "Hosted Signup Form" else "",
        "ip_opt": "",
        "timestamp_opt": utc_offset(member.opt) if member.opt else "",
        "member_rating": member.rating,
        "last_changed": utc_offset(member.last_changed),
        "language": "",
        "vip": False,
        "email_client": "",
        "location": {
            "latitude": 0,
            "longitude": 0,
            "gmtoff": 0,
            "dstoff": 0,
            "country_code": member.country_code,
            "timezone": "",
            "region": "",
        },
        "source": member.source,
        "tags_count": 1 if member.is_lead else 0,
        "tags": [{"id": 1001, "name": "lead"}] if member.is_lead else [],
        "list_id": data.list_id,
    }


def list_json(data: MarketingData) -> dict[str, Any]:
    counts, last_sub = data.status_counts(), data.last_subscription()
    return {
        "id": data.list_id,
        "web_id": 200_001,
        "name": data.list_name,
        "contact": {
            "company": "Demo Supplies Ltd",
            "address1": "1 Market Street",
            "city": "London",
            "state": "",
            "zip": "EC1A 1AA",
            "country": "GB",
        },
        "permission_reminder": "You are receiving this email because you opted in via our website.",
        "campaign_defaults": {
            "from_name": "Demo Supplies",
            "from_email": "news@crmhub-demo.example",
            "subject": "",
            "language": "en",
        },
        "date_created": utc_offset(data.list_created),
        "list_rating": 3,
        "email_type_option": False,
        "visibility": "prv",
        "double_optin": True,
        "stats": {
            "member_count": counts["subscribed"],
            "unsubscribe_count": counts["unsubscribed"],
            "cleaned_count": counts["cleaned"],
            "member_count_since_send": 0,
            "campaign_count": len(data.campaigns),
            "campaign_last_sent": utc_offset(data.campaigns[-1].send_time) if data.campaigns else "",
            "last_sub_date": utc_offset(last_sub) if last_sub else "",
        },
    }


MERGE_FIELDS = (
    ("FNAME", "First Name", "text"),
    ("LNAME", "Last Name", "text"),
    ("COMPANY", "Company", "text"),
    ("PHONE", "Phone Number", "phone"),
    ("ERPCODE", "ERP Customer Code", "text"),
)


def merge_fields_json(data: MarketingData) -> dict[str, Any]:
    fields = [
        {
            "merge_id": k + 1,
            "tag": tag,
            "name": name,
            "type": kind,
            "required": False,
            "public": k < 2,
            "display_order": k + 1,
            "list_id": data.list_id,
        }
        for k, (tag, name, kind) in enumerate(MERGE_FIELDS)
    ]
    return {"merge_fields": fields, "list_id": data.list_id, "total_items": len(fields)}


def campaign_json(data: MarketingData, campaign: Campaign) -> dict[str, Any]:
    report = data.report(campaign.id)
    sent = len(report.recipients)
    return {
        "id": campaign.id,
        "web_id": campaign.web_id,
        "type": "regular",
        "create_time": utc_offset(campaign.send_time - dt.timedelta(days=2)),
        "archive_url": f"https://news.crmhub-demo.example/archive/{campaign.id}",
        "status": "sent",
        "emails_sent": sent,
        "send_time": utc_offset(campaign.send_time),
        "content_type": "template",
        "recipients": {
            "list_id": data.list_id,
            "list_is_active": True,
            "list_name": data.list_name,
            "segment_text": "",
            "recipient_count": sent,
        },
        "settings": {
            "subject_line": campaign.subject,
            "preview_text": "",
            "title": campaign.title,
            "from_name": "Demo Supplies",
            "reply_to": "news@crmhub-demo.example",
        },
        "tracking": {"opens": True, "html_clicks": True, "text_clicks": False},
        "report_summary": {
            "opens": report.opens,
            "unique_opens": report.unique_opens,
            "open_rate": round(report.unique_opens / sent, 4) if sent else 0,
            "clicks": report.clicks,
            "subscriber_clicks": report.clicks,
            "click_rate": round(report.clicks / sent, 4) if sent else 0,
        },
    }


def email_activity_json(
    data: MarketingData, report: CampaignReport, position: int, since: dt.datetime | None
) -> dict[str, Any] | None:
    """One recipient's activity; ``None`` when ``since`` filters all of it away."""
    member = data.members[report.recipients[position]]
    events = report.activity(position, data.seed)
    if since is not None:
        events = [e for e in events if e["timestamp"] > since]  # type: ignore[operator]
        if not events:
            return None
    return {
        "campaign_id": report.campaign.id,
        "list_id": data.list_id,
        "list_is_active": True,
        "email_id": member.id,
        "email_address": member.email,
        "activity": [{**e, "timestamp": utc_offset(e["timestamp"])} for e in events],  # type: ignore[arg-type]
    }


def _split(spec: str | None) -> list[list[str]]:
    return [part.strip().split(".") for part in (spec or "").split(",") if part.strip()]


def _keep(node: Any, paths: list[list[str]]) -> Any:
    if isinstance(node, list):
        return [_keep(item, paths) for item in node]
    if not isinstance(node, dict) or any(not p for p in paths):
        return node
    kept: dict[str, Any] = {}
    for key, value in node.items():
        below = [p[1:] for p in paths if p[0] == key]
        if below:
            kept[key] = _keep(value, below)
    return kept


def _drop(node: Any, paths: list[list[str]]) -> Any:
    if isinstance(node, list):
        return [_drop(item, paths) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if [key] in paths:
            continue
        below = [p[1:] for p in paths if p[0] == key and len(p) > 1]
        result[key] = _drop(value, below) if below else value
    return result


def project(payload: dict[str, Any], fields: str | None, exclude_fields: str | None) -> dict[str, Any]:
    """Apply the product's ``fields`` (keep only these dotted paths) and ``exclude_fields`` parameters."""
    if fields:
        payload = _keep(payload, _split(fields))
    if exclude_fields:
        payload = _drop(payload, _split(exclude_fields))
    return payload
