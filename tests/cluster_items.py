"""Open items making one cluster (three reps' asks for SAML sign-on on Widget Pro, $610,000
at stake) beside the same ask on another product, for the cluster tests of every surface."""

from __future__ import annotations

from bot.feedback import FeedbackService
from bot.items import Draft, Item
from bot.types import UserRef

SAML = "Needs SAML single sign-on before the renewal"
ASKS = (  # (rep, client, deal, product, details)
    ("U0SALES1", "Acme Corp", "250000", "WDG-PRO", SAML),
    ("U0SALES2", "Globex", "270000", "WDG-PRO", SAML + ", asked twice"),
    ("U0SALES3", "Initech", "90000", "WDG-PRO", "SAML single sign-on needed before the renewal"),
    ("U0SALES4", "Umbrella", "400000", "LDG-SYNC", SAML),  # another product: not in it
)
LINE = "3 similar open items from 3 reps, $610,000 at stake: #2, #3 and this one"


async def make_cluster(feedback: FeedbackService, platform: str = "slack") -> list[Item]:
    """The four items, ids 1-4 on an empty store, each with its triage card queued."""
    made = []
    for rep, client, deal, product, details in ASKS:
        draft = await feedback.validate(
            {
                "product": product,
                "kind": "feature_request",
                "client": client,
                "deal_value": deal,
                "currency": "USD",
                "urgency": "normal",
                "details": details,
            }
        )
        assert isinstance(draft, Draft), draft
        made.append((await feedback.create(user=UserRef(platform, rep), draft=draft)).item)
    return made
