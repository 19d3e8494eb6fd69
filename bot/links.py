"""What a feedback item's link points at: a Salesforce opportunity or a HubSpot deal is named
as such (from its address alone: no CRM is called), anything else is a plain link."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import urlsplit


class Crm(enum.StrEnum):
    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"


CRM_LABEL = {Crm.SALESFORCE: "Opportunity in Salesforce", Crm.HUBSPOT: "Deal in HubSpot"}
PLAIN_LABEL = "link"

# Salesforce record ids are 15 or 18 characters; an opportunity's start with 006.
_SF_HOST = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.(lightning\.force\.com|salesforce\.com)$")
_SF_ID = r"006[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?"
_SF_PATH = re.compile(rf"^/(?:lightning/r/(?:Opportunity/)?{_SF_ID}(?:/view)?|{_SF_ID})/?$")
# HubSpot: app.hubspot.com or a data centre's app-eu1.hubspot.com; deals are object 0-3.
_HS_HOST = re.compile(r"^app(-[a-z0-9]+)?\.hubspot\.com$")
_HS_PATH = re.compile(r"^/contacts/\d+/(?:deal|record/0-3)/\d+/?$")


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    crm: Crm | None = None

    @property
    def label(self) -> str:
        return CRM_LABEL[self.crm] if self.crm else PLAIN_LABEL


def crm_of(url: str) -> Crm | None:
    """The CRM record an address is, by its host and path (https only)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").casefold()
    if parts.scheme != "https":
        return None
    if _SF_HOST.match(host) and _SF_PATH.match(parts.path):
        return Crm.SALESFORCE
    if _HS_HOST.match(host) and _HS_PATH.match(parts.path):
        return Crm.HUBSPOT
    return None


def link_of(url: str | None) -> Link | None:
    return Link(url, crm_of(url)) if url else None
