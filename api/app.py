"""The FastAPI application: the routers, the pages, health, and errors as JSON in words (refusals audited)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DataError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.admin import router as admin_router
from api.analysis import router as analysis_router
from api.assets import router as assets_router
from api.audit import router as audit_router
from api.auth import Denied
from api.delivery import router as delivery_router
from api.events import audit_denial
from api.inbox import router as inbox_router
from api.lifecycle import router as lifecycle_router
from api.mcp_server import build as build_mcp
from api.metadata import router as metadata_router
from api.metrics import router as metrics_router
from api.metrics import time_requests
from api.pages import STATIC, Attempts
from api.pages import api as session_router
from api.pages import router as pages_router
from api.passwords import router as passwords_router
from api.policies import router as policies_router
from api.review import router as review_router
from api.rights import router as rights_router
from api.rules import router as rules_router
from api.semantic import Semantic
from api.semantic import router as semantic_router
from api.sso import api as sso_api
from api.sso import router as sso_router
from api.suggestions import router as suggestions_router
from api.trash import router as trash_router
from api.use_notes import UseNotes
from api.webhooks import router as webhooks_router
from catalog.facet_index import warm_facets
from delivery.target_files import apply_targets_file, targets_file_of
from pipeline.farm import Farm
from rushes.errors import RushesError, status_of
from rushes.heap import freeze_heap

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    freeze_heap()  # everything loaded so far lives as long as the server: out of the collector's way
    # the facet index, the embedders and the vector indexes load beside the server, so the first library page
    # and the first search by meaning do not wait
    threading.Thread(target=_warm, args=(app,), name="index-warm-up", daemon=True).start()
    async with app.state.mcp.session_manager.run():  # the MCP server's streamable HTTP sessions (/mcp)
        yield
    app.state.use_notes.flush()  # the last uses noted so far
    app.state.semantic.save()  # the indexes' rows so far: a restart reads only what came since


def _warm(app: FastAPI) -> None:
    try:
        with app.state.farm.readers() as session:
            warm_facets(session)
    except Exception:  # facets are then counted on the first request; the reason is in the log
        log.exception("facet index not warmed")
    app.state.semantic.warm()


def create_app(farm: Farm) -> FastAPI:
    app = FastAPI(title="Rushes", version="0.1.0", lifespan=_lifespan,
                  description=("Media asset management ingest farm. Every /api/ route needs a Bearer token, or the "
                               "review pages' sign-in cookie (POST /api/v1/session) plus the X-CSRF-Token header "
                               "on changes."))
    app.state.farm = farm
    app.state.sign_in_attempts = Attempts()  # per client address, in this API process
    app.state.use_notes = UseNotes(farm)  # tokens' and sessions' last uses, written behind the requests
    app.state.semantic = Semantic(farm)
    # targets declared in YAML (presets/targets.yaml): applied now; a bad file stops the start, named
    apply_targets_file(farm.transaction, targets_file_of(farm.settings))
    _error_handlers(app)
    app.middleware("http")(time_requests)
    app.include_router(metrics_router)
    app.include_router(assets_router)
    app.include_router(admin_router)
    app.include_router(analysis_router)
    app.include_router(audit_router)
    app.include_router(metadata_router)
    app.include_router(semantic_router)
    app.include_router(delivery_router)
    app.include_router(review_router)
    app.include_router(rights_router)
    app.include_router(rules_router)
    app.include_router(inbox_router)
    app.include_router(webhooks_router)
    app.include_router(suggestions_router)
    app.include_router(lifecycle_router)
    app.include_router(passwords_router)
    app.include_router(policies_router)
    app.include_router(trash_router)
    app.state.mcp, mcp_route = build_mcp(farm, app)
    app.router.routes.append(mcp_route)
    app.include_router(session_router)
    app.include_router(sso_api)
    app.include_router(sso_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        with farm.readers() as session:  # a reader's: healthy while a writer holds SQLite's write lock
            session.execute(text("SELECT 1"))
        return {"status": "ok", "database": farm.engine.dialect.name,
                "broker": "redis" if farm.settings.broker_url else "embedded"}

    return app


def _error_handlers(app: FastAPI) -> None:
    def reply(status: int, message: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"error": message, "status": status, **extra}, status_code=status)

    @app.exception_handler(Denied)
    async def denied(request: Request, exc: Denied) -> JSONResponse:
        try:  # the request's own transaction is gone: a fresh one, in a worker thread. Never on the event loop:
            # waiting there for the write lock (SQLite) or the trail's lock (PostgreSQL) stops every request,
            # the holder's own commit among them (a 30 s stall on SQLite, for ever on PostgreSQL)
            await run_in_threadpool(audit_denial, request, exc.denial)
        except Exception:  # a refusal is answered even if the trail cannot be written; the log says why
            log.exception("could not write the audit trail for a refusal")
        response = reply(exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = reply(exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
        return reply(422, "invalid request: a number is out of range (ids and offsets fit in 31 bits)")

    @app.exception_handler(OperationalError)
    async def catalog_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # the catalog is locked past its wait or out of reach: the request's transaction was rolled back whole
        cause = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        log.warning("catalog unavailable for %s %s: %s", request.method, request.url.path, cause)
        response = reply(503, f"the catalog could not do this now ({cause}); nothing was changed: try again")
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return reply(422, f"invalid request: {problems}")

    @app.exception_handler(RushesError)
    async def rushes_error(request: Request, exc: RushesError) -> JSONResponse:
        # one table: rushes/errors.py STATUS; some errors carry more for the client (a stale save's changes)
        return reply(status_of(exc).http, str(exc), **getattr(exc, "extra", {}))
