"""Console sign-ins for the demo data, and the readable tour ``partnerflow demo-data`` prints.

Each demo role gets a user with a printed password (demo only: ``demo-data`` is refused in
production); customers have no password and sign in by emailed link from the dev mailbox.
"""

from __future__ import annotations

from typing import Any

from starter.console.auth import set_password
from starter.services.context import AppContext

# (user id, role, what to try in the console). The password is ``<user id>-demo``.
DEMO_SIGNINS: list[tuple[str, str, str]] = [
    ("ops-li", "operations", "every task; reassign a task; bounced emails"),
    ("em-wang", "ecosystem manager", "onboarding reviews, path certifications, escalations"),
    ("fin-zhao", "finance", "approve or reject incentive payouts"),
    ("pa-chen", "partner admin, Cloudbridge", "unbinding approvals, payout application, invoices"),
    ("ps-liu", "partner staff, Cloudbridge", "renewal tasks: claim, then send feedback"),
    ("pa-huang", "partner admin, Blue Harbor", "its partner's tasks only"),
    ("pa-sun", "distributor admin, Great Wall", "authorize a reseller's renewal order"),
]
DEMO_CUSTOMER_EMAIL = "it@acme-retail.example"


def demo_password(user_id: str) -> str:
    """The printed demo password of a demo user."""
    return f"{user_id}-demo"


async def load_console_demo(ctx: AppContext) -> dict[str, Any]:
    """Gives every demo user its printed password (re-running sets the same ones)."""
    for user_id, _, _ in DEMO_SIGNINS:
        await set_password(ctx.sessions, user_id, demo_password(user_id))
    return {
        "console": {
            "url": ctx.settings.public_base_url.rstrip("/") + "/",
            "sign_ins": [
                {"user": u, "password": demo_password(u), "role": role, "try": what}
                for u, role, what in DEMO_SIGNINS
            ],
            "customers": "no password: ask for a sign-in link at /signin with the customer's "
            f"email (e.g. {DEMO_CUSTOMER_EMAIL}) and open it from /dev/mailbox",
        }
    }


def signins_text(url: str) -> str:
    """The sign-in lines ``make run`` prints under the dev stack's URLs."""
    lines = [f"Console: {url}  (sign-ins below exist after `partnerflow demo-data`)"]
    width = max(len(u) for u, _, _ in DEMO_SIGNINS)
    for user_id, role, _ in DEMO_SIGNINS:
        lines.append(
            f"  {user_id:<{width}}  password {demo_password(user_id):<{width + 5}}  {role}"
        )
    lines.append(
        f"  customers: emailed link (e.g. {DEMO_CUSTOMER_EMAIL}), read it at {url}dev/mailbox"
    )
    return "\n".join(lines) + "\n"


def _tries(value: Any) -> list[str]:
    """The commands of an area's ``try`` list, wherever the area put it."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [t for k, v in value.items() if k.startswith("try") for t in _tries(v)]
    return []


def tour(summary: dict[str, Any]) -> str:
    """What ``partnerflow demo-data`` prints: per role, who to sign in as and what to try,
    in the console and with the CLI (``--json`` keeps the full summary)."""
    out = [
        f"Demo data loaded: {len(summary.get('partners', []))} partners, "
        f"{len(summary.get('customers', []))} customers, {len(summary.get('users', []))} users.",
        "",
    ]
    console = summary.get("console")
    if isinstance(console, dict):
        out.append(f"In the console ({console['url']}), sign in as:")
        for s in console["sign_ins"]:
            out.append(f"  {s['user']:<9} password {s['password']:<14} {s['role']}: {s['try']}")
        out.append(f"  customers: {console['customers']}")
        out.append("")
    out.append("With the CLI (`partnerflow tasks --as USER` shows anyone's inbox):")
    for key, value in summary.items():
        commands = _tries(value) if key.startswith("try") or isinstance(value, dict) else []
        title = "invitations" if key == "try" else key.removeprefix("try_").replace("_", " ")
        if not commands:
            continue
        out.append(f"  {title}:")
        out.extend(f"    {c}" for c in commands)
    return "\n".join(out)
