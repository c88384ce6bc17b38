"""A tiny budgeting app that links a bank account through the sandbox, end to end.

    python examples/demo_client.py            # then open http://127.0.0.1:8765/

It does what a vendor's app does: sends the customer to the bank's authorize endpoint with
`state` and PKCE (S256), checks `state` and `iss` on the way back, redeems the code with
HTTP Basic client authentication, and reads balances and the latest statement lines.
Client `demo-app` and its redirect URI come from the sandbox's default scenario.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlencode

import aiohttp
from aiohttp import web

CLIENT_ID = "demo-app"
CLIENT_SECRET = "demo-secret-please-change"


@dataclass
class DemoClient:
    """The app's configuration and the logins in progress (state -> PKCE verifier)."""

    sandbox: str  # e.g. http://127.0.0.1:8080
    bank: str
    redirect_uri: str
    pending: dict[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"{self.sandbox}/parasol/v1/banks/{self.bank}"


DEMO = web.AppKey("demo", DemoClient)


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>"
    )
    return web.Response(text=text, status=status, content_type="text/html")


async def home(request: web.Request) -> web.Response:
    return _page("デモ家計簿", '<p><a href="/start">銀行口座を連携する</a></p>')


async def start(request: web.Request) -> web.Response:
    """Send the customer to the bank with state and a PKCE challenge."""
    demo = request.app[DEMO]
    state, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    demo.pending[state] = verifier
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": demo.redirect_uri,
            "state": state,
            "scope": "accounts",
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        }
    )
    raise web.HTTPFound(f"{demo.issuer}/oauth/auth?{query}")


def _basic() -> str:
    pair = f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}".encode()
    return "Basic " + base64.b64encode(pair).decode()


async def callback(request: web.Request) -> web.Response:
    """Back from the bank: check state and iss, redeem the code, read the account."""
    demo = request.app[DEMO]
    verifier = demo.pending.pop(request.query.get("state", ""), None)
    if verifier is None:
        return _page("エラー", "<p>state が一致しません(CSRF の可能性)。</p>", 400)
    if request.query.get("iss") != demo.issuer:
        return _page("エラー", "<p>iss が想定した銀行と一致しません。</p>", 400)
    if "error" in request.query:
        error = html.escape(request.query.get("error_description") or request.query["error"])
        return _page("連携できませんでした", f"<p id='error'>{error}</p>", 400)
    async with aiohttp.ClientSession() as http:
        form = {
            "grant_type": "authorization_code",
            "code": request.query.get("code", ""),
            "redirect_uri": demo.redirect_uri,
            "code_verifier": verifier,
        }
        async with http.post(
            f"{demo.issuer}/oauth/token", data=form, headers={"Authorization": _basic()}
        ) as response:
            tokens = await response.json()
            if response.status != 200:
                return _page("エラー", f"<p>{html.escape(str(tokens))}</p>", 502)
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        async with http.get(f"{demo.issuer}/accounts", headers=bearer) as response:
            accounts = (await response.json())["accounts"]
        first = accounts[0]["account_id"]
        async with http.get(
            f"{demo.issuer}/accounts/{first}/transactions", headers=bearer
        ) as response:
            lines = (await response.json())["transactions"][-10:]
    rows = "".join(
        f"<li class='account'>{html.escape(a['branch_name'])} {html.escape(a['account_type_name'])}"
        f" {a['account_number']}: <span class='balance'>{a['balance']:,}円</span></li>"
        for a in accounts
    )
    statement = "".join(
        f"<li>{t['transaction_date']} {html.escape(t['description'])} "
        f"{'+' if t['transaction_type'] == 'deposit' else '-'}{t['amount']:,}円</li>"
        for t in lines
    )
    return _page("連携しました", f"<ul>{rows}</ul><h2>最近の入出金</h2><ol>{statement}</ol>")


def create_demo_app(sandbox: str, bank: str = "2011", port: int = 8765) -> web.Application:
    """The demo app, talking to the sandbox at ``sandbox``."""
    app = web.Application()
    app[DEMO] = DemoClient(sandbox.rstrip("/"), bank, f"http://127.0.0.1:{port}/callback")
    app.router.add_get("/", home)
    app.router.add_get("/start", start)
    app.router.add_get("/callback", callback)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", default="http://127.0.0.1:8080")
    parser.add_argument("--bank", default="2011")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    web.run_app(
        create_demo_app(args.sandbox, args.bank, args.port), host="127.0.0.1", port=args.port
    )


if __name__ == "__main__":
    main()
