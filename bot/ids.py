"""Every neutral action, form and search id, defined once: the same string is the Slack
action_id / callback_id, the Teams verb / dataset and the console's name for it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ActionId(enum.StrEnum):
    """A press: a button (or menu entry, or message action) on any surface."""

    # value: "SKU|REGION" or "SKU|REGION|SEGMENT"; several markets: bot.replies.Asked
    SHARE = "product.share"
    SEE_ALL = "product.all"  # value: as SHARE; the answer with every exception listed
    VERIFY = "product.verify"  # value: SKU
    EDIT = "product.edit"  # value: SKU; opens the edit form
    COMPETE = "feedback.compete"  # value: item id; opens the competitive-difference form
    ITEM_EDIT = "feedback.edit"  # value: item id; opens its product's edit form, tied to it
    BRIEFING_MENU = "briefing.menu"  # value: "correct:ID" | "delete:ID"
    FROM_MESSAGE = "feedback.from_message"  # a message action: its text becomes feedback
    TRIAGE_NOW = "triage.now"  # value: item id (also TRIAGE_*: the decisions)
    TRIAGE_LATER = "triage.later"
    TRIAGE_DECLINE = "triage.decline"
    TRIAGE_MERGE = "triage.merge"
    TRIAGE_ACTIONED = "triage.actioned"
    TRIAGE_MERGE_ALL = "triage.merge_all"  # value: "TARGET:ID,ID,…" (the cluster the card showed)
    HOME_MORE = "home.more"  # value: the page of My feedback / Open queue to show
    APPROVAL_REQUEST = "approval.request"  # value: as SHARE; opens the approval request form
    APPROVAL_APPROVE = "approval.approve"  # value: request id (also APPROVAL_*: decisions)
    APPROVAL_DECLINE = "approval.decline"
    APPROVAL_INFO = "approval.info"
    APPROVAL_REPLY = "approval.reply"  # value: request id; the requester answers "Need more info"


class FormId(enum.StrEnum):
    """A form submission (a Slack modal's callback_id, a Teams card's submit verb)."""

    FEEDBACK = "feedback.submit"
    PRODUCT = "product.save"
    BRIEFING = "briefing.save"
    NOTE = "triage.note"
    COMPETE = "compete.save"
    APPROVAL = "approval.submit"
    APPROVAL_NOTE = "approval.note"
    APPROVAL_ANSWER = "approval.answer"  # the requester's answer to "Need more info"
    SETTINGS = "settings.save"  # a workspace's settings (admins)


class Dataset(enum.StrEnum):
    """What a search field looks up as the user types."""

    PRODUCT = "products"  # one product, or "not product-specific"
    PRODUCTS = "products.many"  # several real products
    REGIONS = "regions"  # one or several of the catalog's regions
    USERS = "users"  # people in the workspace (searched by the platform itself)


@dataclass(frozen=True, slots=True)
class Button:
    """A press offered on a reply; each platform renders it and sends it back unchanged."""

    action: ActionId
    label: str
    value: str
    primary: bool = False
