"""``/v1/unsubscribe/{token}``: one-click unsubscribe (RFC 8058), reached without an API key.

The signed token names the tenant and the address. A POST (what a mail client sends for
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, whatever its body) unsubscribes; a GET
only shows a confirm button, because link scanners fetch every URL in a message.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.api.problems import ProblemError
from shared.db.database import Database
from shared.sending.suppression import unsubscribe_recipient
from shared.sending.unsubscribe import UnsubscribeToken, verify_unsubscribe
from shared.settings import Settings

router = APIRouter(prefix="/v1/unsubscribe", tags=["unsubscribe"])

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem">
<h1 style="font-size: 1.4rem">{title}</h1>
{content}
</body>
</html>
"""


def _page(title: str, content: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), content=content))


def _verified(request: Request, token: str) -> UnsubscribeToken:
    settings: Settings = request.app.state.settings
    verified = verify_unsubscribe(settings, token)
    if verified is None:
        raise ProblemError(
            404, "Not found", "this unsubscribe link is not valid; nothing was changed"
        )
    return verified


@router.get("/{token}", response_class=HTMLResponse)
def confirm_page(token: str, request: Request) -> HTMLResponse:
    """A page with a button that unsubscribes; loading it changes nothing."""
    verified = _verified(request, token)
    address = html.escape(verified.email)
    return _page(
        "Unsubscribe",
        f"<p>Stop all further messages to <strong>{address}</strong>?</p>\n"
        # No action: the form posts back to this very URL, whatever proxy prefix it came by.
        '<form method="post">'
        '<button type="submit" name="List-Unsubscribe" value="One-Click">Unsubscribe</button>'
        "</form>",
    )


@router.post("/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, request: Request) -> HTMLResponse:
    """Put the token's address on its tenant's suppression list; repeating it is harmless."""
    verified = _verified(request, token)
    db: Database = request.app.state.db
    with db.unit_of_work(verified.tenant_id) as uow:
        unsubscribe_recipient(uow, verified)
        uow.commit()
    return _page(
        "You are unsubscribed",
        f"<p><strong>{html.escape(verified.email)}</strong> will receive no further "
        "messages from this sender.</p>",
    )
