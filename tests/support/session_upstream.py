"""An upstream with session-cookie login, as SAP Business One's Service Layer has it: ``POST /b1s/v1/Login``
with the company database and credentials sets the ``B1SESSION`` and ``ROUTEID`` cookies; every other
request needs both, and an unknown or expired session is answered 401. Odoo's style (a 200 whose JSON-RPC
body carries an ``error``) is served at ``/web/session/authenticate``."""

from __future__ import annotations

import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

COMPANY_DB, USER, PASSWORD = "SBODEMOUS", "manager", "sess-pa55word"


def session_app() -> Starlette:
    async def login(request: Request) -> Response:
        state = request.app.state
        body: Any = await request.json()
        state.login_bodies.append(body)
        if state.login_status != 200:
            return JSONResponse(
                {"error": {"code": -1, "message": "unavailable"}}, status_code=state.login_status
            )
        if body != {"CompanyDB": COMPANY_DB, "UserName": USER, "Password": PASSWORD}:
            return JSONResponse({"error": {"code": 100000027, "message": "Login failed"}}, status_code=401)
        session = f"sess-{next(state.counter)}"
        state.sessions.add(session)
        response = JSONResponse({"SessionId": session, "SessionTimeout": 30})
        if state.login_sets_cookies:
            response.set_cookie("B1SESSION", session, path="/b1s", httponly=True)
            response.set_cookie("ROUTEID", ".node1", path="/b1s")
        return response

    async def partners(request: Request) -> Response:
        state = request.app.state
        session, route = request.cookies.get("B1SESSION"), request.cookies.get("ROUTEID")
        state.presented.append((session, route))
        if session not in state.sessions or route is None:
            return JSONResponse({"error": {"code": 301, "message": "Invalid session"}}, status_code=401)
        response = JSONResponse({"value": [{"CardCode": "C20000", "CardName": "Maxi-Teq"}]})
        if state.next_route is not None:  # the load balancer moves the session to another node
            response.set_cookie("ROUTEID", state.next_route, path="/b1s")
            state.next_route = None
        return response

    async def odoo_authenticate(request: Request) -> Response:
        body: Any = await request.json()
        params = body.get("params", {}) if isinstance(body, dict) else {}
        response = JSONResponse(
            {"jsonrpc": "2.0", "id": body.get("id"), "result": {"uid": 2}}
            if params.get("password") == PASSWORD
            else {"jsonrpc": "2.0", "id": body.get("id"), "error": {"code": 200, "message": "Access Denied"}}
        )
        response.set_cookie("session_id", "odoo-session")  # Odoo sets one even when the login fails
        return response

    async def moved(request: Request) -> Response:
        # Redirected within the service, or to ``?to=`` (another origin).
        return RedirectResponse(request.query_params.get("to", "/b1s/v1/BusinessPartners"), status_code=307)

    app = Starlette(
        routes=[
            Route("/b1s/v1/Login", login, methods=["POST"]),
            Route("/b1s/v1/Moved", moved),
            Route("/b1s/v1/BusinessPartners", partners),
            Route("/web/session/authenticate", odoo_authenticate, methods=["POST"]),
        ]
    )
    reset(app)
    return app


def reset(app: Starlette) -> None:
    state = app.state
    state.counter = itertools.count(1)
    state.sessions = set()
    state.login_bodies = []
    state.presented = []
    state.login_status = 200
    state.login_sets_cookies = True
    state.next_route = None
