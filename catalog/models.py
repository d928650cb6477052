"""The catalog schema (SQLAlchemy 2). Changes go through an Alembic migration in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("admin", "editor", "reviewer", "viewer", "target", "agent")  # target, agent: machine users
ASSET_STATUSES = ("queued", "processing", "ready", "failed")
STEP_STATUSES = ("pending", "queued", "running", "done", "failed", "skipped")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware on PostgreSQL; SQLite stores naive UTC, which we re-tag on the way out.

    A TypeDecorator (not a DateTime subclass): the SQLite dialect swaps a DateTime for its own type, which
    dropped a subclass's result processing, so times came back without their zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            value = value.astimezone(UTC).replace(tzinfo=None)  # stored as naive UTC text
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


def table_of(model: type[Base]) -> Table:
    """The model's table, for Core statements built once (the hot paths: a step's transitions, progress polls)."""
    return model.__table__  # type: ignore[return-value]


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]  # a disabled user's tokens and sessions stop working
    # a person's password (argon2id, catalog/passwords.py): failed sign-ins in a row lock it for a while
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_set_at: Mapped[datetime | None]
    failed_sign_ins: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None]
    oidc_subject: Mapped[str | None] = mapped_column(String(400), unique=True)  # "<issuer> <sub>" after SSO
    tokens: Mapped[list[Token]] = relationship(back_populates="user")


class PasswordLink(Base):
    """An invitation or reset link: a person follows it once, before it expires, to set their password (only the
    SHA-256 of its secret is kept)."""

    __tablename__ = "password_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # invite | reset
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    user: Mapped[User] = relationship(back_populates="tokens")


class WebSession(Base):
    """A browser signed in to the review pages: only the SHA-256 of its cookie is stored."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    id_token: Mapped[str | None] = mapped_column(Text)  # signed on through the issuer: the end-session hint
    user: Mapped[User] = relationship()


class Grant(Base):
    """Lets a user see and act (as their role allows) on one collection, or on one asset."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("user_id", "collection_id", "asset_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))


class Collection(Base):
    __tablename__ = "collections"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Asset(Base):
    """A piece of footage, identified by its name in its source (watch) folder; it has versions."""

    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("source_folder", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(1000))
    source_folder: Mapped[str] = mapped_column(String(200))
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    retain_until: Mapped[datetime | None]  # kept at least until then (extended, never shortened: catalog/holds.py)
    # in the trash since (hidden everywhere, recoverable; purged after RUSHES_TRASH_DAYS: catalog/trash.py)
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)
    deleted_by: Mapped[str | None] = mapped_column(String(120))
    collection: Mapped[Collection] = relationship()
    versions: Mapped[list[Version]] = relationship(
        back_populates="asset", order_by="Version.number", cascade="all, delete-orphan"
    )


class AssetCollection(Base):
    """An asset's membership of a collection besides the one its watch folder feeds."""

    __tablename__ = "asset_collections"
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str | None] = mapped_column(String(120))


class Rights(Base):
    """What an asset (or one of its versions) may be used for: licence, territories, channels, a window."""

    __tablename__ = "rights"
    __table_args__ = (UniqueConstraint("asset_id", "version_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    licence: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(500))
    usage: Mapped[str | None] = mapped_column(Text)
    territories: Mapped[list[str] | None] = mapped_column(JSON)  # ISO 3166 codes; None = worldwide
    channels: Mapped[list[str] | None] = mapped_column(JSON)  # broadcast | web | social; None = all
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None] = mapped_column(index=True)
    model_release: Mapped[bool] = mapped_column(default=False)
    location_release: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(120))


class Version(Base):
    """One content of an asset: the original file as stored, and everything derived from it."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("asset_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(String(1000))
    source_folder: Mapped[str] = mapped_column(String(200))
    source_path: Mapped[str] = mapped_column(Text)
    stored_path: Mapped[str | None] = mapped_column(Text)
    sidecar: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ready_at: Mapped[datetime | None] = mapped_column(index=True)
    approved_at: Mapped[datetime | None] = mapped_column(index=True)
    approved_by: Mapped[str | None] = mapped_column(String(120))
    # where the original is: "library" (stored_path) or "archive" (archive_path in the archive location named;
    # proxies, keyframes, transcripts and metadata stay in the library either way)
    storage: Mapped[str] = mapped_column(String(16), server_default="library")
    archive_location: Mapped[str | None] = mapped_column(String(64))
    archive_path: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None]
    archive_renditions: Mapped[bool] = mapped_column(server_default="0")  # its renditions go with it
    asset: Mapped[Asset] = relationship(back_populates="versions")
    steps: Mapped[list[Step]] = relationship(back_populates="version", order_by="Step.id")
    media_info: Mapped[MediaInfoRow | None] = relationship(uselist=False)
    proxy: Mapped[Proxy | None] = relationship(uselist=False)
    duplicates: Mapped[list[Duplicate]] = relationship(order_by="Duplicate.id")


class Duplicate(Base):
    """A drop whose content was already in the catalog: recorded, not processed again."""

    __tablename__ = "duplicates"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(1000))
    source_folder: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaInfoRow(Base):
    """Technical metadata from the probe; ``info`` holds the full probe result."""

    __tablename__ = "media_info"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True)
    container: Mapped[str | None] = mapped_column(String(200))
    duration_s: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None]
    height: Mapped[int | None]
    frame_rate: Mapped[str | None] = mapped_column(String(32))
    video_codec: Mapped[str | None] = mapped_column(String(64))
    audio_codec: Mapped[str | None] = mapped_column(String(64))
    start_timecode: Mapped[str | None] = mapped_column(String(16))
    drop_frame: Mapped[bool] = mapped_column(default=False)
    info: Mapped[dict[str, Any]]


class Step(Base):
    """One unit of work on a version; the catalog (not the broker) is the truth about it."""

    __tablename__ = "steps"
    # status + finished_at: the latest failures and the throughput of the last hour (Farm page, rushes status)
    __table_args__ = (UniqueConstraint("version_id", "kind"),
                      Index("ix_steps_status_finished_at", "status", "finished_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # a render step's rendition (its kind is the label "render:<id>"); None for the workflow's steps
    rendition_id: Mapped[int | None] = mapped_column(ForeignKey("renditions.id", ondelete="CASCADE"), index=True)
    version: Mapped[Version] = relationship(back_populates="steps")


class WorkerProcess(Base):
    """A worker process of the farm, as it announces itself: alive while its heartbeat is fresh.

    ``name`` is the prefix of every step lease it takes (``steps.worker`` = ``<name>/<claim>``), so the
    catalog knows which worker holds which step.
    """

    __tablename__ = "workers"
    name: Mapped[str] = mapped_column(String(160), primary_key=True)  # host/pid/boot
    host: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int]
    queues: Mapped[list[str]] = mapped_column(JSON)
    threads: Mapped[int]
    metrics_port: Mapped[int | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    stopped_at: Mapped[datetime | None]


class Incoming(Base):
    """A big file being hash-copied into the library now (before it has an asset): what the farm shows meanwhile.

    The row is made when the copy starts, its ``copied`` bytes updated every few seconds, and removed when the
    copy ends (the file then has its asset and steps, or its quarantine reason)."""

    __tablename__ = "incoming"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(1000))
    folder: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    copied: Mapped[int] = mapped_column(BigInteger, default=0)
    process: Mapped[str] = mapped_column(String(160))  # the ingesting process, as in ``workers.name``
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Proxy(Base):
    __tablename__ = "proxies"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    poster_path: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int]
    height: Mapped[int]
    duration_s: Mapped[float] = mapped_column(Float)
    size: Mapped[int] = mapped_column(BigInteger)
    elapsed_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Scene(Base):
    """A shot of a version: exact frames and seconds on the source, its keyframe and the keyframe's tags."""

    __tablename__ = "scenes"
    __table_args__ = (UniqueConstraint("version_id", "index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    index: Mapped[int]
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    start_frame: Mapped[int]
    end_frame: Mapped[int]
    keyframe_path: Mapped[str | None] = mapped_column(Text)
    keyframe_s: Mapped[float | None] = mapped_column(Float)
    faces: Mapped[int | None]
    tags: Mapped[dict[str, Any] | None]


class Transcript(Base):
    __tablename__ = "transcripts"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    language_probability: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(400))
    duration_s: Mapped[float | None] = mapped_column(Float)
    elapsed_s: Mapped[float] = mapped_column(Float)
    languages: Mapped[dict[str, Any] | None]  # seconds of speech per language, when it switches


class TranscriptSegment(Base):
    __tablename__ = "transcript_segments"
    __table_args__ = (UniqueConstraint("version_id", "index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    index: Mapped[int]
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    words: Mapped[dict[str, Any] | None]
    language: Mapped[str | None] = mapped_column(String(16))


class QCReport(Base):
    """EBU R128 loudness and QC events (black, freeze, silence, clipping) of a version."""

    __tablename__ = "qc_reports"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True)
    integrated_lufs: Mapped[float | None] = mapped_column(Float)
    loudness_range_lu: Mapped[float | None] = mapped_column(Float)
    true_peak_dbtp: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict[str, Any]]


class SearchDoc(Base):
    """One searchable text at a time range of a version (a transcript segment, OCR text, tags, a name).

    Full-text indexing is per backend and lives in the migration: an FTS5 table kept in step by
    triggers on SQLite, a generated ``tsvector`` column with a GIN index on PostgreSQL.
    """

    __tablename__ = "search_docs"
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    start_s: Mapped[float | None] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))  # spoken language (transcript); None: not known


class SearchLanguage(Base):
    """A language some search document is in: PostgreSQL's queries are stemmed in each of them."""

    __tablename__ = "search_languages"
    language: Mapped[str] = mapped_column(String(16), primary_key=True)


class Rendition(Base):
    """A delivery file of a version made to a preset; keyed so that asking twice renders once."""

    __tablename__ = "renditions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    preset: Mapped[str] = mapped_column(String(200))
    preset_hash: Mapped[str] = mapped_column(String(64))
    tools: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256(content hash, preset hash, tools)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)  # queued|ready|rejected|failed
    path: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    qc: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    # "library" (path) or "archive" (archive_path: moved with its version's original, see pipeline/lifecycle.py)
    storage: Mapped[str] = mapped_column(String(16), server_default="library")
    archive_path: Mapped[str | None] = mapped_column(Text)
    version: Mapped[Version] = relationship()


class Target(Base):
    """A distribution target: it pulls its feed with its own token, or gets files pushed to a folder."""

    __tablename__ = "targets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # pull | push
    presets: Mapped[dict[str, Any]]  # {"presets": [names]}
    folder: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(20))  # broadcast | web | social; None: the preset's
    territory: Mapped[str | None] = mapped_column(String(8))  # ISO 3166 code where it publishes; None: worldwide
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def preset_names(self) -> list[str]:
        return list((self.presets or {}).get("presets", []))


class DeliveryEvent(Base):
    """Who took or was sent which rendition, when, and how it went: the delivery log."""

    __tablename__ = "delivery_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))  # feed | download | push | approve | request changes | render
    target: Mapped[str | None] = mapped_column(String(120))
    rendition_id: Mapped[int | None] = mapped_column(ForeignKey("renditions.id", ondelete="SET NULL"))
    detail: Mapped[str | None] = mapped_column(Text)


class Comment(Base):
    """A reviewer's note at a frame (or a range of frames) of a version; a reply has a parent.

    ``end_frame`` is exclusive: the range covers ``start_frame`` .. ``end_frame - 1``. Seconds count from
    the first frame of the media (``frame / frame rate``), so the note stays put whatever the start timecode.
    """

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_version_id_start_frame", "version_id", "start_frame"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    start_frame: Mapped[int]
    end_frame: Mapped[int | None]
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[Version] = relationship()


class Review(Base):
    """One review decision on a version: ``approve`` or ``changes``. History is kept; a reviewer's latest counts."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(120))
    decision: Mapped[str] = mapped_column(String(10))  # approve | changes
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id", ondelete="CASCADE"),
                                                   index=True)  # the approval request and stage it counts in
    stage: Mapped[str | None] = mapped_column(String(64))


class ApprovalRequest(Base):
    """A version's approval under one stage template, for the channels it governs (``catalog/approval_stages.py``).
    ``definition`` keeps the template as it was when asked (None: the default template, from the settings);
    ``status`` (open | changes | approved) is what delivery and the inbox read."""

    __tablename__ = "approval_requests"
    __table_args__ = (UniqueConstraint("version_id", "template"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(String(64))
    template_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    approved_at: Mapped[datetime | None] = mapped_column(index=True)
    requested_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One line of the append-only audit trail; ``hash`` covers the line and the previous line's hash.

    No foreign keys: the trail outlives what it talks about.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(10))  # allowed | denied
    asset_id: Mapped[int | None] = mapped_column(index=True)
    version_id: Mapped[int | None]
    subject: Mapped[str | None] = mapped_column(String(500))
    detail: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# ------------------------------------------------------------------------- the team's own metadata (0011)


class MetadataSchemaVersion(Base):
    """One version of the metadata schema (fields, vocabularies, taxonomies, views): the newest is in force.

    ``files`` keeps the YAML text of each file as it was loaded, so any version can be read again."""

    __tablename__ = "metadata_schemas"
    version: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)  # the same twice when a change is undone
    definition: Mapped[dict[str, Any]]
    files: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))
    summary: Mapped[str | None] = mapped_column(Text)  # what changed from the version before, in words


class AssetMetadata(Base):
    """An asset's metadata record: its revision (a save made against an older one is refused) and how many of
    its values need a person's attention (kept aside at ingest, or flagged when the schema changed)."""

    __tablename__ = "asset_metadata"
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
    attention: Mapped[int] = mapped_column(default=0, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(120))


class MetadataLog(Base):
    """A logged range of a version (in frame .. out frame, exclusive): its values are metadata_values rows."""

    __tablename__ = "metadata_logs"
    __table_args__ = (Index("ix_metadata_logs_version_id_start_frame", "version_id", "start_frame"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    start_frame: Mapped[int]
    end_frame: Mapped[int]
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetadataValue(Base):
    """One value of a field on an asset (``log_id`` None) or on a logged range: a multiple field has a row per
    value. ``value`` is the normalised text (facets and filters), ``number`` a number field's value (ranges),
    ``long`` a long text; ``problem`` says why a value no longer fits the schema (a choice removed)."""

    __tablename__ = "metadata_values"
    # the facet index holds only what facets count (an asset's own values that fit): a covering scan per field
    __table_args__ = (Index("ix_metadata_values_field_value", "field", "value"),
                      Index("ix_metadata_values_field_number", "field", "number"),
                      Index("ix_metadata_values_facet", "field", "value",
                            sqlite_where=text("log_id IS NULL AND problem IS NULL"),
                            postgresql_where=text("log_id IS NULL AND problem IS NULL")),
                      # the logged ranges' values (few): what a field term adds to the facet index's assets
                      Index("ix_metadata_values_logged", "field", "value", sqlite_where=text("log_id IS NOT NULL"),
                            postgresql_where=text("log_id IS NOT NULL")))
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    log_id: Mapped[int | None] = mapped_column(ForeignKey("metadata_logs.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(1000))
    number: Mapped[float | None] = mapped_column(Float)
    long: Mapped[str | None] = mapped_column(Text)
    problem: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str | None] = mapped_column(String(120))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetadataReject(Base):
    """A value that did not fit the schema, kept aside with the reason (the asset was ingested all the same)."""

    __tablename__ = "metadata_rejects"
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(500))  # "sidecar clip.mov.json", "shoot.csv line 4", "xmp"…
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(120))


class MetadataChange(Base):
    """One field's change on an asset or a log entry: the history a stale save is told about."""

    __tablename__ = "metadata_changes"
    __table_args__ = (Index("ix_metadata_changes_asset_id_revision", "asset_id", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    revision: Mapped[int]
    log_id: Mapped[int | None]  # no foreign key: a deleted log entry's history stays
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[list[Any] | None] = mapped_column(JSON)
    new: Mapped[list[Any] | None] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(120))
    source: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    rule_run_id: Mapped[int | None]  # the rule run whose action made it (a chain of rules is cut at a depth)


class TagDecision(Base):
    """A person's word on a keyframe tag of a shot: ``accept`` (it became metadata) or ``reject`` (never shown or
    searched for that shot again, even when the tags are made anew)."""

    __tablename__ = "tag_decisions"
    __table_args__ = (UniqueConstraint("version_id", "scene_index", "label"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    scene_index: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))  # accept | reject
    score: Mapped[float | None] = mapped_column(Float)  # the model's confidence when it was decided
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TextVector(Base):
    """A search document's sentence embedding (float16, L2-normalised) made by ``model``: semantic search."""

    __tablename__ = "text_vectors"
    __table_args__ = (Index("ix_text_vectors_model_id", "model", "id"),)  # an index catching up by row id
    id: Mapped[int] = mapped_column(primary_key=True)  # grows with every vector made: indexes catch up by it
    doc_id: Mapped[int] = mapped_column(ForeignKey("search_docs.id", ondelete="CASCADE"), unique=True)
    asset_id: Mapped[int] = mapped_column(index=True)  # no foreign key: the document's own cascades it
    model: Mapped[str] = mapped_column(String(200))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    bits: Mapped[bytes] = mapped_column(LargeBinary)  # its SimHash (catalog/vector_index.py): what indexes hold


class _ShotVector:
    """The columns of a vector per shot keyframe (one table per kind of model)."""

    id: Mapped[int] = mapped_column(primary_key=True)  # grows with every vector made: indexes catch up by it
    scene_id: Mapped[int] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"), unique=True)
    asset_id: Mapped[int] = mapped_column(index=True)
    model: Mapped[str] = mapped_column(String(200))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    bits: Mapped[bytes] = mapped_column(LargeBinary)  # its SimHash (catalog/vector_index.py): what indexes hold


class PictureVector(_ShotVector, Base):
    """A shot's keyframe embedding (float16, L2-normalised) made by ``model``: "shots like this"."""

    __tablename__ = "picture_vectors"
    __table_args__ = (Index("ix_picture_vectors_model_id", "model", "id"),)


class DescribedVector(_ShotVector, Base):
    """A shot's keyframe in an image-text (CLIP) model's space: "describe the picture" search (``RUSHES_CLIP_MODEL``).
    Beside, not instead of, its ``picture_vectors`` row: the two models answer different questions."""

    __tablename__ = "described_vectors"
    __table_args__ = (Index("ix_described_vectors_model_id", "model", "id"),)


class RuleVersion(Base):
    """One version of an orchestration rule as its file read (``<data>/rules``): the newest of a name with
    ``retired_at`` None is in force; older ones stay, the history of what ran."""

    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("name", "content_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    file: Mapped[str] = mapped_column(String(500))
    line: Mapped[int]
    trigger: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class RuleRun(Base):
    """A rule version that acted on an event (or whose condition failed on it): one row per (rule version,
    trigger, event key), so a rule acts once per event however often the event is looked at. ``depth``: how many
    rule runs caused the event before (``cause_run_id`` the last of them): a chain is cut at a limit."""

    __tablename__ = "rule_runs"
    __table_args__ = (UniqueConstraint("rule_version_id", "trigger", "event_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("rule_versions.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(160))  # "version:12", "metadata:345", "schedule:<tick>:12"…
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))  # done | failed
    outcome: Mapped[str] = mapped_column(Text)  # what each action did, or why the condition failed
    depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cause_run_id: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class HeldAction(Base):
    """A rule's actions waiting for a person (``hold_for_a_person``): approved, they run as the rule's with the
    person named; refused, they never run. The inbox of people who may deliver."""

    __tablename__ = "held_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_run_id: Mapped[int | None] = mapped_column(ForeignKey("rule_runs.id", ondelete="CASCADE"), unique=True)
    rule: Mapped[str] = mapped_column(String(64))  # the rule's name, or agent:<name> for an agent's held tool
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(200))
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # as the rule file gave them
    status: Mapped[str] = mapped_column(String(16), default="waiting", index=True)  # waiting|approved|refused
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleCursor(Base):
    """How far the rule runner has looked at a trigger's events (their time): it goes on from there after a
    restart, so an event that came while no worker ran is still seen."""

    __tablename__ = "rule_cursors"
    trigger: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]


class Webhook(Base):
    """A subscription: events of the chosen types (and filter) are POSTed to ``url``, signed with ``secret``
    (shown once, when made). Failing ``failures`` times in a row disables it with the reason."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON)
    filter: Mapped[str | None] = mapped_column(Text)  # a CEL condition over the event's asset (as rules read it)
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # failed attempts in a row
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    since: Mapped[datetime] = mapped_column(default=utcnow)  # events from this moment on


class WebhookDelivery(Base):
    """One POST to a subscription (the outbox and the delivery log): a unique event id, one or many events of one
    type (a bulk change coalesced), tried until a 2xx with back-off; each attempt's status code kept."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, byte for byte the same on every attempt
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(default=utcnow)
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # {at, status_code, error, ms} per try
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class WebhookEvent(Base):
    """An event put in a subscription's outbox (so an event looked at again is not sent twice)."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("webhook_id", "event_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(160))
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AgentPolicy(Base):
    """What an agent (a user of role ``agent``) may do through the MCP server: its tools (the read tools and those
    granted), those held for a person instead of done, and how many calls a minute (``pipeline/agents.py``)."""

    __tablename__ = "agent_policies"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tools: Mapped[list[str]] = mapped_column(JSON)
    hold: Mapped[list[str]] = mapped_column(JSON)
    per_minute: Mapped[int] = mapped_column(Integer)


class MetadataSuggestion(Base):
    """A value an agent suggested for an asset's field, with its provenance: nothing changes until a person
    accepts it (it is then saved as theirs) or rejects it."""

    __tablename__ = "metadata_suggestions"
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    suggested_by: Mapped[str] = mapped_column(String(120))
    provenance: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))  # pending | accepted | rejected
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LegalHold(Base):
    """A legal hold on an asset or on a collection (every asset in it, its own or added): while it is not lifted,
    nothing may archive, delete or replace the originals it covers — admins included. Lifting needs a reason;
    both are audited (``catalog/holds.py``)."""

    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(120))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_by: Mapped[str | None] = mapped_column(String(120))
    lifted_at: Mapped[datetime | None] = mapped_column(index=True)
    lift_reason: Mapped[str | None] = mapped_column(Text)


class OidcLogin(Base):
    """A single sign-on on its way: the state sent to the issuer (its SHA-256), the nonce the ID token must carry,
    the PKCE verifier and where to go after; used once, on the way back."""

    __tablename__ = "oidc_logins"
    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(100))
    verifier: Mapped[str] = mapped_column(String(200))
    next_url: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class LifecyclePolicy(Base):
    """What happens to a collection's assets with time (``catalog/policies.py``): originals archived after so many
    days without use or after their first delivery, a retention period from ingest, and what its end brings."""

    __tablename__ = "lifecycle_policies"
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    archive_unused_days: Mapped[int | None] = mapped_column(Integer)
    archive_delivered_days: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(64))
    retention_years: Mapped[int | None] = mapped_column(Integer)
    at_retention_end: Mapped[str] = mapped_column(String(20), default="propose_deletion")  # or "keep"
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
