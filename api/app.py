"""The FastAPI application: health, assets, proxies and posters (with HTTP Range), retry."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select, text
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.analysis import router as analysis_router
from api.delivery import router as delivery_router
from api.deps import DB, Editor, Reader
from api.pages import STATIC
from api.pages import api as session_router
from api.pages import router as pages_router
from api.review import router as review_router
from catalog.lookup import asset_or_404, version_or_404
from catalog.models import Asset, Collection, Proxy
from catalog.views import asset_detail, asset_summary
from pipeline.farm import Farm
from pipeline.retry import retry_asset
from rushes.errors import NotFound, RushesError

log = logging.getLogger(__name__)
STATUSES = ("queued", "processing", "ready", "failed")


def create_app(farm: Farm) -> FastAPI:
    app = FastAPI(title="Rushes", version="0.1.0",
                  description=("Media asset management ingest farm. Every /api/ route needs a Bearer token, or the "
                               "review pages' sign-in cookie (POST /api/v1/session) plus the X-CSRF-Token header "
                               "on changes."))
    app.state.farm = farm
    _error_handlers(app)
    app.include_router(analysis_router)
    app.include_router(delivery_router)
    app.include_router(review_router)
    app.include_router(session_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        with farm.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": farm.engine.dialect.name,
                "broker": "redis" if farm.settings.broker_url else "embedded"}

    @app.get("/api/v1/me", tags=["auth"])
    def me(user: Reader) -> dict[str, Any]:
        return {"name": user.name, "role": user.role}

    @app.get("/api/v1/assets", tags=["assets"])
    def list_assets(session: DB, user: Reader,
                    status: Annotated[str | None, Query(pattern="^(queued|processing|ready|failed)$")] = None,
                    collection: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
        query = select(Asset).join(Collection).order_by(Asset.id.desc())
        if status:
            query = query.where(Asset.status == status)
        if collection:
            query = query.where(Collection.name == collection)
        assets = session.scalars(query.limit(limit).offset(offset)).all()
        return {"assets": [asset_summary(a) for a in assets], "limit": limit, "offset": offset}

    @app.get("/api/v1/collections", tags=["assets"])
    def list_collections(session: DB, user: Reader) -> dict[str, Any]:
        """Every collection with how many assets it holds."""
        rows = session.execute(select(Collection.name, func.count(Asset.id)).outerjoin(Asset)
                               .group_by(Collection.name).order_by(Collection.name)).all()
        return {"collections": [{"name": name, "assets": count} for name, count in rows]}

    @app.get("/api/v1/assets/{asset_id}", tags=["assets"])
    def get_asset(asset_id: int, session: DB, user: Reader) -> dict[str, Any]:
        return asset_detail(asset_or_404(session, asset_id))

    @app.post("/api/v1/assets/{asset_id}/retry", tags=["assets"])
    def retry(asset_id: int, user: Editor) -> dict[str, Any]:
        retried = retry_asset(farm, asset_id)  # writes in its own transaction
        return {"asset_id": asset_id, "retried_steps": retried}

    @app.get("/api/v1/versions/{version_id}/proxy", tags=["media"], response_class=FileResponse)
    def proxy(version_id: int, session: DB, user: Reader) -> FileResponse:
        row = session.get(Proxy, version_id)
        if row is None or not Path(row.path).is_file():
            raise NotFound(f"version {version_id} has no proxy (yet)")
        return FileResponse(row.path, media_type="video/mp4", filename=f"proxy-{version_id}.mp4",
                            content_disposition_type="inline")

    @app.get("/api/v1/versions/{version_id}/poster", tags=["media"], response_class=FileResponse)
    def poster(version_id: int, session: DB, user: Reader) -> FileResponse:
        row = session.get(Proxy, version_id)
        if row is None or not row.poster_path or not Path(row.poster_path).is_file():
            raise NotFound(f"version {version_id} has no poster (yet)")
        return FileResponse(row.poster_path, media_type="image/jpeg")

    @app.get("/api/v1/versions/{version_id}", tags=["assets"])
    def get_version(version_id: int, session: DB, user: Reader) -> dict[str, Any]:
        detail = asset_detail(version_or_404(session, version_id).asset)
        return next(v for v in detail["versions"] if v["id"] == version_id)

    return app


def _error_handlers(app: FastAPI) -> None:
    def reply(status: int, message: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"error": message, "status": status, **extra}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = reply(exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return reply(422, f"invalid request: {problems}")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return reply(404, str(exc))

    @app.exception_handler(RushesError)
    async def rushes_error(request: Request, exc: RushesError) -> JSONResponse:
        return reply(400, str(exc))
