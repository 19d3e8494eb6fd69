"""A labelled set of generated feedback items for measuring clusters: each item carries the
id of the need it is about (ground truth). Paraphrases of one need, typos, reps' framing
and context, sibling products sharing words, and near-miss needs of one product that share
most words but ask for something else. Deterministic for a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

PRODUCTS = {
    "WP": "Widget Pro",
    "WL": "Widget Lite",
    "LC": "Ledger Cloud",
    "LD": "Ledger Desk",
    "PA": "Pulse Analytics",
    "HP": "Harbor Payroll",
}

# need id -> (product, phrasings). Needs with the same stem on two products ("-wl", "-ld")
# are different needs: different products sharing words. Pairs marked "near miss" in a
# comment share most words with a neighbour of the same product.
NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sso-okta": (
        "WP",
        (
            "Single sign-on with Okta for all users",
            "SSO through Okta so staff log in with their company account",
            "Log in with Okta single sign on instead of separate passwords",
        ),
    ),
    "scim-okta": (
        "WP",
        (  # near miss of sso-okta
            "Provision and deprovision users automatically from Okta (SCIM)",
            "SCIM user provisioning from Okta so leavers lose access",
            "Automatic user provisioning with Okta via SCIM",
        ),
    ),
    "csv-export": (
        "WP",
        (
            "Export reports to CSV",
            "Download the report data as a CSV file for Excel",
            "CSV export of every report so finance can work in spreadsheets",
        ),
    ),
    "csv-import": (
        "WP",
        (  # near miss of csv-export
            "Import customer lists from a CSV file",
            "Bulk upload contacts from CSV instead of typing them in",
            "Load their existing customer records from a CSV import",
        ),
    ),
    "dark-mode": (
        "WP",
        (
            "Dark mode in the mobile app",
            "A dark theme for the mobile app, staff use it at night",
            "Night mode / dark colour scheme on the phone app",
        ),
    ),
    "offline-mode": (
        "WP",
        (  # near miss of dark-mode
            "Offline mode in the mobile app for field engineers",
            "The mobile app should keep working without a connection and sync later",
            "Use the phone app offline on sites with no signal",
        ),
    ),
    "sso-okta-wl": (
        "WL",
        (
            "Single sign-on with Okta for all users",
            "SSO through Okta so staff log in with their company account",
            "Log in with Okta single sign on instead of separate passwords",
        ),
    ),
    "csv-export-wl": (
        "WL",
        (
            "Export reports to CSV",
            "Download the report data as a CSV file for Excel",
            "CSV export of every report so finance can work in spreadsheets",
        ),
    ),
    "api-rate": (
        "WP",
        (
            "Higher API rate limits, they hit 429 errors during the nightly sync",
            "Raise the API request limit, their integration gets throttled",
            "API throttling is too strict for their nightly batch: need a higher limit",
        ),
    ),
    "webhooks": (
        "WP",
        (
            "Webhooks when an order changes status",
            "Push notifications to their endpoint (webhook) on every order status change",
            "Call a webhook URL when orders are updated instead of polling the API",
        ),
    ),
    "multi-currency": (
        "LC",
        (
            "Invoices in several currencies for one customer",
            "Multi-currency invoicing: bill the same client in EUR and USD",
            "Support more than one currency per customer account on invoices",
        ),
    ),
    "fx-revaluation": (
        "LC",
        (  # near miss of multi-currency
            "Automatic revaluation of foreign currency balances at month end",
            "Month-end FX revaluation of open balances in other currencies",
            "Revalue foreign currency accounts automatically at period close",
        ),
    ),
    "bank-feeds": (
        "LC",
        (
            "Direct bank feeds from HSBC",
            "Connect their HSBC account so transactions import automatically",
            "Automatic bank statement import from HSBC instead of uploading files",
        ),
    ),
    "bank-feeds-ld": (
        "LD",
        (
            "Direct bank feeds from HSBC",
            "Connect their HSBC account so transactions import automatically",
            "Automatic bank statement import from HSBC instead of uploading files",
        ),
    ),
    "audit-trail": (
        "LC",
        (
            "A full audit trail of who changed each journal entry",
            "Audit log showing every edit to journal entries and by whom",
            "Auditors need history of changes on journals with user and time",
        ),
    ),
    "approval-workflow": (
        "LC",
        (
            "Two-step approval before a payment run is released",
            "Payment runs should need a second approver",
            "Dual approval workflow for supplier payments",
        ),
    ),
    "approval-invoices": (
        "LC",
        (  # near miss of approval-workflow
            "Approval workflow for purchase invoices before they are posted",
            "Purchase invoices should be approved by a manager before posting",
            "Route supplier invoices to an approver before they hit the ledger",
        ),
    ),
    "vat-mtd": (
        "LD",
        (
            "Making Tax Digital VAT returns filed straight to HMRC",
            "Submit VAT returns to HMRC from the desktop app (MTD)",
            "MTD compliance: file the VAT return directly with HMRC",
        ),
    ),
    "multi-entity": (
        "LD",
        (
            "Consolidated reporting across several companies",
            "Group consolidation of multiple legal entities in one report",
            "Roll up the accounts of all their subsidiaries into one consolidated view",
        ),
    ),
    "backup-restore": (
        "LD",
        (
            "Scheduled backups to their own network drive",
            "Automatic nightly backup of the company file to a server share",
            "Back up the data file on a schedule without someone remembering",
        ),
    ),
    "dashboards-share": (
        "PA",
        (
            "Share dashboards with people outside the company by link",
            "Public links to dashboards for their clients, no login",
            "Send a read-only dashboard link to external partners",
        ),
    ),
    "dashboards-schedule": (
        "PA",
        (  # near miss of dashboards-share
            "Email a dashboard as PDF every Monday morning",
            "Scheduled delivery of dashboards by email each week",
            "Send the dashboard on a schedule to the board as a PDF attachment",
        ),
    ),
    "snowflake": (
        "PA",
        (
            "Connector for Snowflake",
            "Read data straight from their Snowflake warehouse",
            "Native Snowflake integration instead of exporting files",
        ),
    ),
    "bigquery": (
        "PA",
        (  # near miss of snowflake
            "Connector for Google BigQuery",
            "Read data straight from their BigQuery warehouse",
            "Native BigQuery integration instead of exporting files",
        ),
    ),
    "row-security": (
        "PA",
        (
            "Row-level security so each region sees only its own data",
            "Restrict rows by user: managers only see their team's numbers",
            "Per-user data permissions on rows in reports",
        ),
    ),
    "forecasting": (
        "PA",
        (
            "Forecast next quarter's sales from history",
            "Built-in forecasting of revenue trends",
            "Predict future sales with a forecast line on charts",
        ),
    ),
    "anomaly-alerts": (
        "PA",
        (
            "Alert when a metric suddenly drops or spikes",
            "Anomaly detection with notifications on key metrics",
            "Automatic alerts on unusual changes in daily numbers",
        ),
    ),
    "payslips-email": (
        "HP",
        (
            "Email payslips to employees as password-protected PDFs",
            "Send payslips by email instead of printing them",
            "Employees should get their payslip in their inbox, protected with a password",
        ),
    ),
    "payslips-portal": (
        "HP",
        (  # near miss of payslips-email
            "Employee self-service portal to download payslips",
            "Staff log in to a portal and download their own payslips and P60s",
            "A self-service site where employees see past payslips",
        ),
    ),
    "pension-auto": (
        "HP",
        (
            "Automatic pension enrolment and contributions to Nest",
            "Auto-enrolment: calculate pension contributions and send them to Nest",
            "Pension auto enrolment with Nest file upload",
        ),
    ),
    "timesheets": (
        "HP",
        (
            "Import hours from their timesheet system into payroll",
            "Timesheet integration so overtime flows into the pay run",
            "Pull worked hours from timesheets instead of keying them",
        ),
    ),
    "holiday-accrual": (
        "HP",
        (
            "Holiday pay accrual for irregular hours workers",
            "Calculate holiday entitlement for zero-hours staff",
            "Accrue annual leave for part-time workers with varying hours",
        ),
    ),
    "slack-alerts": (
        "WL",
        (
            "Send alerts to a Slack channel",
            "Post notifications into Slack when something fails",
            "Slack integration for alerts so the team sees them at once",
        ),
    ),
    "teams-alerts": (
        "WL",
        (  # near miss of slack-alerts
            "Send alerts to a Microsoft Teams channel",
            "Post notifications into Microsoft Teams when something fails",
            "Teams integration for alerts so the team sees them at once",
        ),
    ),
    "price-lower": (
        "WL",
        (
            "Cheaper plan for small teams under five users",
            "The price is too high for a three person company: need a small team tier",
            "A lower priced edition for very small businesses",
        ),
    ),
    "gdpr-delete": (
        "WL",
        (
            "Delete all of a customer's personal data on request (GDPR)",
            "Right to erasure: wipe one person's data everywhere",
            "GDPR deletion of a contact's records across the system",
        ),
    ),
}

PREFIXES = (
    "", "", "", "Client asks for: ", "They want ", "Prospect needs ", "Big ask from the client: ",
    "Blocking the renewal: ", "Heard again today - ", "Customer request: ", "Need ",
    "In the demo they asked about ", "Competitor has it: ",
)  # fmt: skip
SUFFIXES = (
    "", "", "", " Deal closes this quarter.", " They mentioned it twice.",
    " Competitor X already offers this.", " Their IT team insists.",
    " It came up in the QBR.", " Otherwise they stay on spreadsheets.",
    " Would help us win the tender.", " Asked by the CFO.",
)  # fmt: skip
CLIENTS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises",
    "Wonka", "Soylent", "Tyrell", "Cyberdyne", "Massive Dynamic", "Oscorp", "Vandelay",
    "Pied Piper", "Dunder Mifflin", "Gringotts", "Monsters Inc", "Aperture", "Black Mesa",
)  # fmt: skip
REPS = tuple(f"U{n:03d}REP" for n in range(1, 25))
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP")


@dataclass(frozen=True, slots=True)
class Labelled:
    """One generated item and the need it is about."""

    need: str
    product_sku: str
    details: str
    client: str
    rep: str
    deal_value: int | None
    deal_currency: str | None

    @property
    def product_name(self) -> str:
        return PRODUCTS[self.product_sku]


def typo(text: str, rng: random.Random) -> str:
    """One slip of a finger in a word of four letters or more: a letter dropped, doubled
    or swapped with the next."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1 :]
    elif kind == 1:
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    words[i] = w
    return " ".join(words)


def labelled(*, per_need: tuple[int, int] = (3, 9), seed: int = 19) -> list[Labelled]:
    """Items for every need (between per_need[0] and per_need[1] each), shuffled."""
    rng = random.Random(seed)
    out: list[Labelled] = []
    for need, (sku, phrasings) in NEEDS.items():
        for _ in range(rng.randint(*per_need)):
            text = rng.choice(phrasings)
            prefix = rng.choice(PREFIXES)
            if prefix and prefix[-1] == " " and not prefix.endswith(": "):
                text = text[0].lower() + text[1:]
            text = prefix + text
            if rng.random() < 0.4:
                text = typo(text, rng)
            if rng.random() < 0.15:
                text = typo(text, rng)
            text = text.rstrip(".") + "." + rng.choice(SUFFIXES)
            valued = rng.random() < 0.8
            out.append(
                Labelled(
                    need=need,
                    product_sku=sku,
                    details=text,
                    client=rng.choice(CLIENTS),
                    rep=rng.choice(REPS),
                    deal_value=rng.randrange(10, 500) * 1000 if valued else None,
                    deal_currency=rng.choice(CURRENCIES) if valued else None,
                )
            )
    rng.shuffle(out)
    return out
