"""What the install pages say (adding the app to a Slack workspace or Grid org through
OAuth), written once; the Slack handler only renders them."""

from __future__ import annotations

INSTALLED_TITLE = "Salesbridge is installed"
INSTALLED = "Salesbridge is installed in {where}."
INSTALLED_NEXT = "Back in Slack, try /product with a market and a product in any channel."
REFUSED_TITLE = "Installation refused"
# Said in Slack to someone in a workspace that has not installed the app (or removed it).
NOT_INSTALLED_HERE = (
    "Salesbridge is not installed in this workspace: ask a Slack admin to install it."
)
START_AGAIN = "Start again from the install page: {url}"
NOTHING_INSTALLED = "Nothing was installed."

# Why an installation was refused, by the OAuth flow's reason for it.
REFUSED = {
    "invalid_state": (
        "This install link was not issued by this server, was already used, or has expired "
        "(a link is good for ten minutes and for one installation)."
    ),
    "invalid_browser": (
        "This installation was not started in this browser (or the browser blocked its "
        "cookie), so it cannot be told apart from a forged one."
    ),
    "access_denied": "The installation was cancelled in Slack.",
    "missing_code": "Slack sent no authorization code with this page.",
    "invalid_code": "Slack did not accept the authorization code (it may have been used already).",
    "storage_error": "The installation could not be saved.",
}
REFUSED_OTHERWISE = "Slack did not complete the installation."


def refusal(reason: str) -> str:
    """Why the installation was refused, for an OAuth flow's reason (Slack's `error`)."""
    return REFUSED.get(reason, REFUSED_OTHERWISE)
