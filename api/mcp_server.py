"""The MCP server: streamable HTTP at ``/mcp`` (the ``mcp`` SDK), signed in with the same bearer tokens as the API.

Tools read as the caller reads (search, an asset, its shots, transcript and rights: through the API's own routes,
with the caller's token, so grants and the audit trail are the same) and act within the caller's agent policy
(``pipeline/agents.py``): suggestions of metadata and tags, a review request, a render, a delivery. Every call is
audited as ``agent tool``; one outside the allowlist is refused and audited ``denied``.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from catalog.auth import use_token
from catalog.models import User
from pipeline.agents import READ_TOOLS, RateLimit, act, audit_call, check_call, policy_of, suggest
from pipeline.farm import Farm
from rushes.errors import RushesError

INSTRUCTIONS = ("Rushes is a media asset management farm. Search the library (words and meaning), read an asset, its "
                "shots, transcript and rights; suggest metadata and tags (a person accepts them); request a review, "
                "render a preset, deliver to a target (confirm: true; some are held for a person).")


def _user(farm: Farm, headers: Any) -> User | None:
    value = (headers or {}).get("authorization", "")
    if not value.lower().startswith("bearer "):
        return None
    with farm.transaction() as session:
        row = use_token(session, value[7:].strip())
        if row is None:
            return None
        user = row.user
        session.expunge(user)
        return user


class BearerGate:
    """401 before the MCP transport for a request without a live token (the API's tokens)."""

    def __init__(self, app: ASGIApp, farm: Farm) -> None:
        self.app, self.farm = app, farm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            user = await anyio.to_thread.run_sync(_user, self.farm, headers)
            if user is None:
                body = json.dumps({"error": "the MCP server needs a bearer token (the same tokens as the API)",
                                   "status": 401}).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def build(farm: Farm, api: ASGIApp) -> tuple[MCPServer, Route]:
    """The MCP server with its tools, and the ``/mcp`` route to add to the API (run ``session_manager`` in the
    API's lifespan)."""
    server: MCPServer = MCPServer(name="rushes", instructions=INSTRUCTIONS)
    limits = RateLimit()

    async def call(ctx: Context, tool: str, arguments: dict[str, Any], work: Any, asset_id: int | None = None) -> Any:
        user = await anyio.to_thread.run_sync(_user, farm, ctx.headers)
        if user is None:
            raise ToolError("no live bearer token")

        def policy() -> Any:
            with farm.sessions() as session:
                return policy_of(session, user)

        found = await anyio.to_thread.run_sync(policy)
        try:
            check_call(found, tool, limits)
        except RushesError as exc:
            await anyio.to_thread.run_sync(audit_call, farm, found, tool, arguments, "denied", str(exc), asset_id)
            raise ToolError(str(exc)) from None
        try:
            result = await work(user, found)
        except RushesError as exc:
            await anyio.to_thread.run_sync(audit_call, farm, found, tool, arguments, "allowed",
                                           f"failed: {exc}", asset_id)
            raise ToolError(f"{type(exc).__name__}: {exc}") from None
        await anyio.to_thread.run_sync(audit_call, farm, found, tool, arguments, "allowed",
                                       _summary(result), asset_id)
        return result

    async def read(ctx: Context, path: str, params: dict[str, Any] | None = None) -> Any:
        """The API's own route with the caller's token (its grants, its audit)."""
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://rushes") as client:
            response = await client.get(path, params=params,
                                        headers={"authorization": (ctx.headers or {}).get("authorization", "")})
        body = response.json()
        if response.status_code >= 400:
            raise ToolError(f"HTTP {response.status_code}: {body.get('error', body)}")
        return body

    async def reading(ctx: Context, tool: str, arguments: dict[str, Any], path: str,
                      params: dict[str, Any] | None = None, asset_id: int | None = None) -> Any:
        async def work(_user: User, _policy: Any) -> Any:
            return await read(ctx, path, params)
        return await call(ctx, tool, arguments, work, asset_id)

    @server.tool(description="Search the library by words and meaning; hits at source timecodes")
    async def search(query: str, ctx: Context, limit: int = 10) -> dict[str, Any]:
        return await reading(ctx, "search", {"query": query, "limit": limit}, "/api/v1/search",
                             {"q": query, "limit": max(1, min(limit, 100))})

    @server.tool(description="One asset: versions, status, media facts, collections")
    async def read_asset(asset_id: int, ctx: Context) -> dict[str, Any]:
        return await reading(ctx, "read_asset", {"asset_id": asset_id}, f"/api/v1/assets/{asset_id}",
                             asset_id=asset_id)

    @server.tool(description="An asset's shots with timecodes and the keyframe tags people trust")
    async def read_scenes(asset_id: int, ctx: Context) -> dict[str, Any]:
        return await reading(ctx, "read_scenes", {"asset_id": asset_id}, f"/api/v1/assets/{asset_id}/scenes",
                             asset_id=asset_id)

    @server.tool(description="An asset's transcript: segments with timecodes and languages")
    async def read_transcript(asset_id: int, ctx: Context) -> dict[str, Any]:
        return await reading(ctx, "read_transcript", {"asset_id": asset_id},
                             f"/api/v1/assets/{asset_id}/transcript", asset_id=asset_id)

    @server.tool(description="An asset's rights in force and every target's verdict now")
    async def read_rights(asset_id: int, ctx: Context) -> dict[str, Any]:
        return await reading(ctx, "read_rights", {"asset_id": asset_id}, f"/api/v1/assets/{asset_id}/rights",
                             asset_id=asset_id)

    @server.tool(description="Suggest metadata values ({field: value}); a person accepts or rejects each")
    async def suggest_metadata(asset_id: int, values: dict[str, Any], reason: str, ctx: Context) -> dict[str, Any]:
        async def work(user: User, _policy: Any) -> Any:
            return await anyio.to_thread.run_sync(suggest, farm, user, asset_id, values, reason, "suggest_metadata")
        return await call(ctx, "suggest_metadata", {"asset_id": asset_id, "values": values, "reason": reason},
                          work, asset_id)

    @server.tool(description="Suggest keyword tags; a person accepts or rejects them")
    async def suggest_tags(asset_id: int, labels: list[str], reason: str, ctx: Context) -> dict[str, Any]:
        async def work(user: User, _policy: Any) -> Any:
            field = farm.settings.accepted_tags_field or "keywords"
            return await anyio.to_thread.run_sync(suggest, farm, user, asset_id, {field: labels}, reason,
                                                  "suggest_tags")
        return await call(ctx, "suggest_tags", {"asset_id": asset_id, "labels": labels, "reason": reason},
                          work, asset_id)

    def acting(tool: str) -> Any:
        async def tool_call(ctx: Context, asset_id: int, argument: str, confirm: bool) -> Any:
            async def work(user: User, policy: Any) -> Any:
                return await anyio.to_thread.run_sync(act, farm, user, policy, tool, asset_id, argument, confirm)
            return await call(ctx, tool, {"asset_id": asset_id, "argument": argument, "confirm": confirm}, work,
                              asset_id)
        return tool_call

    @server.tool(description="Ask for the asset's newest version to be reviewed under an approval stage template")
    async def request_review(asset_id: int, template: str, ctx: Context, confirm: bool = False) -> dict[str, Any]:
        return await acting("request_review")(ctx, asset_id, template, confirm)

    @server.tool(description="Render the asset's newest version to a preset (needs confirm: true)")
    async def render(asset_id: int, preset: str, ctx: Context, confirm: bool = False) -> dict[str, Any]:
        return await acting("render")(ctx, asset_id, preset, confirm)

    @server.tool(description="Render what a distribution target takes; it gets them once approved and in rights "
                             "(needs confirm: true)")
    async def deliver(asset_id: int, target: str, ctx: Context, confirm: bool = False) -> dict[str, Any]:
        return await acting("deliver")(ctx, asset_id, target, confirm)

    server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                               transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
    route = Route("/mcp", endpoint=BearerGate(StreamableHTTPASGIApp(server.session_manager), farm),
                  methods=["GET", "POST", "DELETE"], include_in_schema=False)
    return server, route


def _summary(result: Any) -> str:
    text = json.dumps(result, default=str)
    return text if len(text) <= 500 else text[:497] + "…"


__all__ = ["READ_TOOLS", "build"]
