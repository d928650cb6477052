"""Settings: read once at start-up, typed and validated.

Sources, strongest first: keyword arguments (the CLI's flags), ``RUSHES_*`` environment variables,
a TOML file (``RUSHES_CONFIG``, else ``<data_dir>/rushes.toml`` when it exists), the defaults below.
Values are passed down explicitly; nothing below ``pipeline/`` reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rushes.errors import ConfigError

TEMP_PATTERNS = ("*.part", "*.tmp", "*~", "._*", ".DS_Store", "*.crdownload", ".*.swp")


#: PySceneDetect's detectors of shot cuts (analyzers/shots.py)
SceneDetector = Literal["adaptive", "content", "threshold", "hash", "histogram"]


class WatchFolder(BaseModel):
    """One drop zone: files dropped here become assets of ``collection``."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    path: Path | None = None  # default: <data_dir>/watch/<name>
    collection: str | None = None  # default: the folder's name
    language: str | None = None  # spoken language of the footage, when known
    # shot detection here (sport: a higher threshold; interviews: a lower one); default: the farm's settings
    scene_detector: SceneDetector | None = None
    scene_threshold: float | None = Field(None, gt=0)


class ArchiveLocation(BaseModel):
    """Storage originals are archived to: a folder on other storage (an NFS mount, an LTFS tape's staging area)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    path: Path | None = None  # default: <data_dir>/archive/<name>


class Settings(BaseSettings):
    """Everything Rushes can be told. See the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="RUSHES_", extra="forbid", validate_default=True)

    data_dir: Path = Path("rushes-data")
    database_url: str | None = None  # default: sqlite:///<data_dir>/catalog.sqlite
    broker_url: str | None = None  # None: in-process StubBroker; redis://… : the farm
    broker_namespace: str = "rushes"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    watch_folders: list[WatchFolder] = Field(default_factory=lambda: [WatchFolder(name="default")])
    poll_interval_s: float = Field(1.0, gt=0)
    settle_s: float = Field(5.0, ge=0)

    worker_threads: int = Field(2, ge=1, le=64)
    # a running step's lease: its worker renews it every second; a worker that cannot renew it for half
    # this long stops the step, and once it has expired the reconciler queues the step again
    lease_s: float = Field(30.0, ge=2)
    reconcile_interval_s: float = Field(5.0, gt=0)
    # a queued step whose message the broker no longer holds (Redis flushed or restarted empty, a dead
    # worker's prefetched messages) is sent again once it has been queued this long
    requeue_after_s: float = Field(30.0, gt=0)
    worker_dead_after_s: float = Field(15.0, ge=2)  # a worker silent this long is dead (its messages re-sent)
    metrics_port: int | None = Field(None, ge=1, le=65535)  # `rushes worker` serves /metrics here when set
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line, for a log shipper
    max_attempts: int = Field(3, ge=1)
    ffmpeg_timeout_s: float = Field(6 * 3600.0, gt=0)

    proxy_max_height: int = Field(720, ge=144, le=2160)

    scene_detector: SceneDetector = "adaptive"  # the PySceneDetect detector of shot cuts
    scene_threshold: float | None = Field(None, gt=0)  # its threshold (lower finds more); default: its tuned one
    # cuts closer than this are judged: a flash or a one-frame blip is not a shot, a short shot between two
    # different pictures is kept
    scene_min_s: float = Field(0.5, ge=0)
    # a local CTranslate2 Whisper model folder, or "base" (the bundled multilingual model); default: tiny.en
    whisper_model: str | None = None
    model_cache: Path | None = None  # where bundled models are assembled on first use; default: <data_dir>/models
    whisper_threads: int = Field(0, ge=0)  # 0: as many as the machine has
    taggers: list[str] | None = None  # keyframe taggers to run; default: every available one
    # keyframe labels under this confidence are hidden from people and from the search (an accepted one shows)
    tag_min_confidence: float = Field(0.2, ge=0, le=1)
    accepted_tags_field: str = "keywords"  # the metadata field an accepted tag is added to
    # semantic search: a local folder with model.onnx + tokenizer.json (or a sentence-transformers folder);
    # default: the bundled all-MiniLM-L6-v2 (int8 ONNX). Changing it re-embeds in the background.
    text_model: str | None = None
    # "shots like this": a local EfficientNet-Lite0 .pth or an ONNX features model; default: the bundled one
    picture_model: str | None = None
    # "describe the picture" search: a local CLIP-style ONNX pair (image and text towers) folder; default: none
    clip_model: str | None = None
    steps: list[str] | None = None  # workflow steps to run (with what they need); default: all
    targets_file: Path | None = None  # distribution targets declared in YAML; default: presets/targets.yaml
    # the metadata schema's YAML files (fields, vocabularies, taxonomies, views); default: <data_dir>/metadata,
    # made from the bundled schema on first start
    metadata_dir: Path | None = None
    # orchestration rules' YAML files (triggers, CEL conditions, actions); default: <data_dir>/rules
    rules_dir: Path | None = None
    # approval stage templates' YAML files (stages, reviewers, deadlines, per collection, kind and channel);
    # default: <data_dir>/approvals. Without any, the approval_* settings below are the one (default) template
    approvals_dir: Path | None = None
    # rules whose actions make events that trigger rules: a chain is cut (a failed run, with the chain) at this depth
    rule_depth_limit: int = Field(5, ge=1, le=50)
    # webhooks: how long a receiver may take, how often a delivery is tried (10 s, 20 s, 40 s … at most an hour
    # apart: 12 tries span about 4 hours), and how many failed tries in a row disable a subscription
    webhook_timeout_s: float = Field(10.0, gt=0, le=120)
    webhook_max_attempts: int = Field(12, ge=1, le=50)
    webhook_disable_after: int = Field(25, ge=1, le=10_000)

    # sign-in with a password: failed attempts in a row that lock a person's account, and for how long
    sign_in_max_failures: int = Field(5, ge=1, le=100)
    sign_in_lockout_s: float = Field(900.0, ge=1)

    # single sign-on with OpenID Connect: the issuer (its discovery document at
    # <issuer>/.well-known/openid-configuration) and this client's id and secret; people signing on are matched (or
    # made) with oidc_default_role, and when the groups claim names a group below, its role (the strongest) and its
    # collections (granted) apply
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid profile email"
    oidc_redirect_uri: str | None = None  # default: <the address the browser used>/login/sso/callback
    oidc_post_logout_uri: str | None = None  # after signing out at the issuer; default: <the address>/login
    oidc_label: str = "single sign-on"  # the sign-in page's button: "Sign in with <label>"
    oidc_default_role: Literal["admin", "editor", "reviewer", "viewer"] = "viewer"
    oidc_groups_claim: str = "groups"
    oidc_group_roles: dict[str, Literal["admin", "editor", "reviewer", "viewer"]] = Field(default_factory=dict)
    oidc_group_collections: dict[str, list[str]] = Field(default_factory=dict)

    # lifecycle: where originals are archived to (the first location unless an archive names another)
    archive_locations: list[ArchiveLocation] = Field(default_factory=lambda: [ArchiveLocation(name="archive")])
    # how a move's copy is checked against the ingest SHA-256: read back from the target's storage (its cached pages
    # dropped), or from the page cache after fsync (faster where reads from the storage are slow; does not catch a
    # disk that stores other bits than it was given)
    archive_verify: Literal["storage", "cache"] = "storage"
    archive_renditions: bool = False  # an archive takes the version's renditions along unless the request says
    trash_days: int = Field(30, ge=0, le=3650)  # deleted assets wait in the trash this long, then are purged

    # the approval rule: a version is approved when nobody's latest decision is "changes", every required
    # reviewer's latest is "approve", and at least approval_min_approvals reviewers' latest is "approve"
    approval_required_reviewers: list[str] = Field(default_factory=list)  # user names
    approval_min_approvals: int = Field(1, ge=1)

    @field_validator("approval_required_reviewers")
    @classmethod
    def _reviewer_names(cls, value: list[str]) -> list[str]:
        names = [name.strip() for name in value]
        if any(not name for name in names):
            raise ValueError("reviewer names must not be blank")
        if len(names) != len(set(names)):
            raise ValueError(f"reviewer names must be unique, got {names}")
        return names

    @model_validator(mode="after")
    def _oidc_whole(self) -> Settings:
        given = [bool(self.oidc_issuer), bool(self.oidc_client_id), bool(self.oidc_client_secret)]
        if any(given) and not all(given):
            raise ValueError("single sign-on needs oidc_issuer, oidc_client_id and oidc_client_secret together")
        return self

    @field_validator("database_url", "broker_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        return value

    @field_validator("broker_url")
    @classmethod
    def _redis_only(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// URL (or unset for the in-process broker)")
        return value

    @field_validator("database_url")
    @classmethod
    def _sql_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @model_validator(mode="after")
    def _unique_folders(self) -> Settings:
        names = [f.name for f in self.watch_folders]
        if len(names) != len(set(names)):
            raise ValueError(f"watch folder names must be unique, got {names}")
        locations = [location.name for location in self.archive_locations]
        if not locations or len(locations) != len(set(locations)):
            raise ValueError(f"archive locations: at least one, names unique, got {locations}")
        return self

    # ---- derived paths -------------------------------------------------------------------------
    @property
    def data(self) -> Path:
        return self.data_dir.resolve()

    @property
    def library_dir(self) -> Path:
        return self.data / "library"

    @property
    def model_cache_dir(self) -> Path:
        """Models assembled from packages on first use (the multilingual Whisper base model)."""
        return (self.model_cache or self.data / "models").resolve()

    @property
    def metadata_folder(self) -> Path:
        return (self.metadata_dir or self.data / "metadata").resolve()

    @property
    def rules_folder(self) -> Path:
        return (self.rules_dir or self.data / "rules").resolve()

    @property
    def approvals_folder(self) -> Path:
        return (self.approvals_dir or self.data / "approvals").resolve()

    @property
    def quarantine_dir(self) -> Path:
        return self.data / "quarantine"

    @property
    def incoming_dir(self) -> Path:
        return self.data / "library" / ".incoming"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data / 'catalog.sqlite'}"

    @property
    def embedded(self) -> bool:
        return self.broker_url is None

    def archive_location(self, name: str | None = None) -> tuple[str, Path]:
        """The archive location named (default: the first) and its folder; ConfigError for an unknown name."""
        location = next((a for a in self.archive_locations if name in (None, a.name)), None)
        if location is None:
            raise ConfigError(f"no archive location {name!r}; configured: "
                              f"{', '.join(a.name for a in self.archive_locations)}")
        return location.name, (location.path or self.data / "archive" / location.name).resolve()

    def watch_path(self, folder: WatchFolder) -> Path:
        return (folder.path or self.data / "watch" / folder.name).resolve()

    def collection_of(self, folder: WatchFolder) -> str:
        return folder.collection or folder.name

    def ensure_dirs(self) -> None:
        for path in (self.library_dir, self.quarantine_dir, self.incoming_dir):
            path.mkdir(parents=True, exist_ok=True)
        for folder in self.watch_folders:
            self.watch_path(folder).mkdir(parents=True, exist_ok=True)


def _toml_values(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {path} is not valid TOML: {exc}") from exc


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; raise ConfigError naming every bad field."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    file_values: dict[str, Any] = {}
    config = os.environ.get("RUSHES_CONFIG")
    data_dir = Path(overrides.get("data_dir") or os.environ.get("RUSHES_DATA_DIR") or "rushes-data")
    candidate = Path(config) if config else data_dir / "rushes.toml"
    if config or candidate.exists():
        file_values = _toml_values(candidate)
    env_names = {k[len("RUSHES_"):].lower() for k in os.environ if k.startswith("RUSHES_")}
    values = {k: v for k, v in file_values.items() if k not in env_names}
    values.update(overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'} (RUSHES_"
            f"{str(err['loc'][0]).upper() if err['loc'] else ''}): {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
