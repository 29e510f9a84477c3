"""One settings object for every rendersync process, read from ``RENDERSYNC_*`` variables.

Groups mirror the components (``RENDERSYNC_DB__URL``, ``RENDERSYNC_KAFKA__BOOTSTRAP_SERVERS``,
...). Defaults are those of the embedded dev stack (``rendersync dev``), so a bare checkout
works without configuration. Nothing builds a Settings at import time: the CLI builds one and
passes it (or the pieces a component needs) down explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from gitops.layout import DEFAULT_PATH, GitLayout
from vocabulary import TARGET_GIT, TARGET_KUBERNETES
from vocabulary.limits import DEFAULT_KAFKA_MAX_REQUEST_BYTES, MAX_KAFKA_MAX_REQUEST_BYTES
from vocabulary.routing import ANY, Route, routing_problems


class DbSettings(BaseModel):
    url: str = "sqlite:///.rendersync/rendersync.db"
    echo: bool = False
    #: SQLite only: how long a writer waits for the database lock.
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "rendersync.public.appconfigs"
    #: Partitions used when the relay creates the topic.
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    consumer_group: str = "rendersync-bridge"
    #: Kafka's idempotent producer. Off by default: the embedded broker rejects it, and
    #: ordering never rests on it (seq fencing does).
    idempotent_producer: bool = False
    dlq_suffix: str = ".dlq"
    #: The relay's producer refuses a larger message; the API's limit on a change event
    #: derives from it. Raise it together with the broker's and topic's max.message.bytes.
    max_request_size: int = Field(
        default=DEFAULT_KAFKA_MAX_REQUEST_BYTES, ge=64 * 1024, le=MAX_KAFKA_MAX_REQUEST_BYTES
    )
    #: Most messages the bridge takes from one poll.
    max_poll_records: int = Field(default=500, ge=1)
    #: A bridge replica that misses heartbeats this long loses its partitions to the others.
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)

    @property
    def dlq_topic(self) -> str:
        return self.topic + self.dlq_suffix


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "rendersync"
    #: Base URL of the Temporal Web UI, used for links in the API's status.
    ui_url: str = "http://127.0.0.1:8233"


class KubernetesSettings(BaseModel):
    #: kubeconfig file; empty means in-cluster config, then the default kubeconfig.
    kubeconfig: Path | None = Path(".rendersync/kubeconfig")
    context: str | None = None
    field_manager: str = "rendersync"
    #: Propagation policy for deletes: Foreground, Background or Orphan.
    propagation_policy: str = "Background"
    request_timeout_s: float = Field(default=10.0, gt=0)


class GitSettings(BaseModel):
    #: Remote the GitOps tool watches; the dev stack uses a local bare repository.
    remote: str = ".rendersync/gitops.git"
    branch: str = "main"
    #: Working clone owned by the worker.
    workdir: Path = Path(".rendersync/git-work")
    author_name: str = "rendersync"
    author_email: str = "rendersync@localhost"
    push_attempts: int = Field(default=5, ge=1)


class KubernetesTargetSettings(KubernetesSettings):
    """A named Kubernetes target (one cluster): ``kubeconfig`` and ``context`` as in the
    ``kubernetes`` group; ``kubeconfig`` empty means in-cluster config."""

    kind: Literal["kubernetes"] = TARGET_KUBERNETES


class GitTargetSettings(GitSettings):
    """A named Git target: a repository branch and where the target's files go in it.
    Targets of one ``remote`` and ``branch`` share one writer (and one working clone, that of
    the first of them), so their commits are batched together."""

    kind: Literal["git"] = TARGET_GIT
    #: A key's file: placeholders ``{namespace}``, ``{name}`` and ``{environment}``.
    path: str = DEFAULT_PATH
    #: A folder whose ``kustomization.yaml`` lists the target's files ("": none).
    kustomization: str = ""


TargetSettings = Annotated[
    KubernetesTargetSettings | GitTargetSettings, Field(discriminator="kind")
]


class RouteSettings(BaseModel):
    """A routing rule (``vocabulary.routing``): the AppConfigs it matches go to ``targets``."""

    environment: str = ANY
    namespace: str = ANY
    labels: dict[str, str] = Field(default_factory=dict)
    targets: list[str] = Field(min_length=1)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    #: Run database migrations when ``rendersync api`` starts.
    migrate_on_start: bool = True
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    default_page_limit: int = Field(default=500, ge=1)


class SyncSettings(BaseModel):
    #: The targets, by name, in the order a sync applies them. The names ``kubernetes`` and
    #: ``git`` are the targets of the ``kubernetes`` and ``git`` groups unless ``targets``
    #: defines them; left unset with ``targets`` given, the order of ``targets``.
    targets: list[str] = Field(default_factory=lambda: [TARGET_KUBERNETES, TARGET_GIT])
    #: Apply a change to its routed targets at once (each fenced on the version) instead of
    #: one after the other in ``targets`` order; removals stay in reverse order.
    apply_concurrently: bool = False
    activity_start_to_close_s: float = Field(default=30.0, gt=0)
    #: An activity attempt that sends no heartbeat this long is timed out and retried, and a
    #: cancelled (superseded) attempt learns of it at its next heartbeat. 0 turns it off.
    heartbeat_timeout_s: float = Field(default=15.0, ge=0)
    #: Transient failures are retried without end: the first retry after this long, each
    #: next one ``retry_backoff`` times later, never more than ``retry_max_interval_s``.
    retry_initial_interval_s: float = Field(default=1.0, gt=0)
    retry_backoff: float = Field(default=2.0, ge=1)
    retry_max_interval_s: float = Field(default=60.0, gt=0)
    #: Events handled before the workflow continues as new.
    continue_as_new_after: int = Field(default=500, ge=1)
    #: Seconds the worker lets running activities finish on shutdown.
    worker_grace_s: float = Field(default=30.0, ge=0)
    #: Workflows a worker process keeps in memory (Temporal's ``max_cached_workflows``); a key
    #: whose workflow was evicted is replayed from its whole history at its next change.
    max_cached_workflows: int = Field(default=1000, ge=0)
    #: Upsert the AppConfigKey/SyncState search attributes (the server must know them).
    search_attributes: bool = True
    #: Seconds between anti-entropy passes of the worker (every key re-driven from the
    #: database; repairs lost messages and lost targets). 0 turns it off.
    resync_interval_s: float = Field(default=600.0, ge=0)
    #: Watch managed custom resources and re-apply any that were edited or deleted by hand.
    drift_repair: bool = True
    #: Seconds between the worker's orphan collection passes (managed CRs and Git files that
    #: no row backs are removed, fenced on their version). 0 turns it off.
    orphan_interval_s: float = Field(default=300.0, ge=0)
    #: An orphan is removed only once it has been found, at the same version, this long.
    orphan_grace_s: float = Field(default=120.0, ge=0)


class MetricsSettings(BaseModel):
    """Prometheus endpoints of the relay, bridge and worker (the API serves /metrics)."""

    host: str = "127.0.0.1"
    relay_port: int = Field(default=9101, ge=0, le=65535)
    bridge_port: int = Field(default=9102, ge=0, le=65535)
    worker_port: int = Field(default=9103, ge=0, le=65535)


class Authenticator(StrEnum):
    TOKENS = "tokens"
    OIDC = "oidc"
    TOKENREVIEW = "tokenreview"
    PROXY = "proxy"


class AuthSettings(BaseModel):
    """Who may call the API (``docs/security.md``). Checked at start: a setting that cannot
    work stops the process with one line naming it."""

    #: Asked in this order; the first that recognises a credential decides.
    authenticators: list[Authenticator] = Field(default_factory=lambda: [Authenticator.TOKENS])
    oidc_issuer: str = ""
    oidc_audience: str = ""
    #: The issuer's key set: a URL (fetched, cached, refreshed on an unknown kid) or a file.
    oidc_jwks_url: str = ""
    oidc_jwks_file: Path | None = None
    #: Signature algorithms accepted (asymmetric only); never taken from the token.
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    oidc_username_claim: str = "sub"
    oidc_groups_claim: str = "groups"
    oidc_username_prefix: str = ""
    #: Least seconds between two refreshes of the key set for unknown kids.
    oidc_jwks_refresh_s: float = Field(default=10.0, ge=0)
    #: Audiences a TokenReview asks for (empty: the API server's default).
    tokenreview_audiences: list[str] = Field(default_factory=list)
    #: Peer addresses (CIDRs) of the proxy whose X-Remote-User/X-Remote-Group are trusted.
    proxy_cidrs: list[str] = Field(default_factory=list)
    #: If set, the proxy must also send it in X-Remote-Proxy-Secret.
    proxy_secret: SecretStr | None = None
    #: Role bindings file (YAML); bindings made with ``rendersync rbac`` apply as well.
    policy_file: Path | None = None
    #: Also ask the cluster (SubjectAccessReview on appconfigs.rendersync.dev).
    sar: bool = False
    sar_cache_s: float = Field(default=10.0, ge=0)
    #: Serve /metrics without authentication.
    metrics_public: bool = False
    #: Refused credentials a client may present (a ``limits`` rate) before it gets 429.
    failure_limit: str = "10/minute"


class NotifyEvent(StrEnum):
    FAILED = "Failed"
    RETRYING = "Retrying"
    RECOVERED = "Recovered"
    DELETED = "Deleted"


class ReceiverSettings(BaseModel):
    """One webhook receiver of sync notifications (``docs/operations.md``)."""

    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    events: list[NotifyEvent] = Field(default_factory=lambda: list(NotifyEvent))
    #: The HMAC-SHA256 signing secret, by reference: an environment variable or a file.
    secret_env: str = ""
    secret_file: Path | None = None
    #: ``json`` (the versioned payload) or ``slack`` (an incoming-webhook body).
    format: Literal["json", "slack"] = "json"
    timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _one_secret(self) -> ReceiverSettings:
        if self.secret_env and self.secret_file is not None:
            raise ValueError("give secret_env or secret_file, not both")
        return self


class NotifySettings(BaseModel):
    #: A JSON list of receivers, e.g. ``[{"name": "ops", "url": "https://...",
    #: "events": ["Failed"], "secret_env": "OPS_HOOK_SECRET"}]``.
    receivers: list[ReceiverSettings] = Field(default_factory=list)
    #: ``Retrying`` is notified once per version, when its failed attempts reach this many.
    retrying_after: int = Field(default=3, ge=1)
    #: Delivery attempts per receiver and notice, and the longest wait between two.
    max_attempts: int = Field(default=10, ge=1)
    max_interval_s: float = Field(default=60.0, ge=1)


class LogSettings(BaseModel):
    level: str = "INFO"
    json_format: bool = Field(default=False, alias="json")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RENDERSYNC_",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
    )

    db: DbSettings = Field(default_factory=DbSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    git: GitSettings = Field(default_factory=GitSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    log: LogSettings = Field(default_factory=LogSettings)
    #: Named targets (``docs/operations.md``): e.g. ``{"prod": {"kind": "kubernetes",
    #: "context": "prod"}, "gitops-prod": {"kind": "git", "remote": "...", "path":
    #: "clusters/prod/appconfigs/{namespace}/{name}.yaml", "kustomization": "clusters/prod"}}``.
    targets: dict[str, TargetSettings] = Field(default_factory=dict)
    #: Routing rules, first match decides; none: every AppConfig goes to every target.
    routes: list[RouteSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _usable_targets(self) -> Settings:
        problems = target_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def configured_targets(self) -> dict[str, KubernetesTargetSettings | GitTargetSettings]:
        """Every target, by name, in apply order (see ``SyncSettings.targets``)."""
        return {name: self._target(name) for name in self.target_order()}

    def target_kinds(self) -> dict[str, str]:
        """The kind of each target not named after its kind (a target named ``kubernetes`` or
        ``git`` is of that kind)."""
        return {name: t.kind for name, t in self.configured_targets().items() if name != t.kind}

    def target_order(self) -> list[str]:
        """The target names in apply order: ``sync.targets``, or, left unset with
        ``targets`` given, the order of ``targets``."""
        if self.targets and "targets" not in self.sync.model_fields_set:
            return list(self.targets)
        return self.sync.targets

    def route_rules(self) -> tuple[Route, ...]:
        return tuple(
            Route(tuple(r.targets), r.environment, r.namespace, dict(r.labels)) for r in self.routes
        )

    def _target(self, name: str) -> KubernetesTargetSettings | GitTargetSettings:
        if name in self.targets:
            return self.targets[name]
        if name == TARGET_KUBERNETES:
            return KubernetesTargetSettings(**self.kubernetes.model_dump())
        if name == TARGET_GIT:
            return GitTargetSettings(**self.git.model_dump())
        raise KeyError(name)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRON.get()
        if environ is not None:
            env_settings = _MappingEnvSource(settings_cls, environ)
        return init_settings, env_settings, dotenv_settings, file_secret_settings


def target_problems(settings: Settings) -> list[str]:
    """Why the targets and routes cannot work, one line each (an unknown target in the
    order or a rule, a rule no AppConfig reaches, a Git layout that cannot be, two
    repositories sharing one working clone)."""
    names = settings.target_order()
    problems = [_name_problem(n) for n in settings.targets if _name_problem(n)]
    known = set(settings.targets) | {TARGET_KUBERNETES, TARGET_GIT}
    problems += [f"sync.targets names {n!r}, which targets does not define" for n in names
                 if n not in known]  # fmt: skip
    problems += [f"target {n!r} is defined but not in sync.targets {names}"
                 for n in settings.targets if n not in names]  # fmt: skip
    if problems:
        return problems
    problems += routing_problems(names, settings.route_rules())
    clones: dict[Path, tuple[str, str, str]] = {}
    for name, target in settings.configured_targets().items():
        if isinstance(target, GitTargetSettings):
            layout = GitLayout(target.path, target.kustomization)
            problems += [f"target {name!r}: {p}" for p in layout.problems()]
            repo = (target.remote, target.branch)
            other = clones.setdefault(target.workdir.resolve(), (*repo, name))
            if other[:2] != repo:
                problems.append(
                    f"targets {other[2]!r} and {name!r} write different repositories or "
                    f"branches through one workdir {str(target.workdir)!r}; give each its own"
                )
    return problems


#: Status entries that are not targets: a target may not be named like one.
RESERVED_TARGET_NAMES = ("status", "routing", "relay", "sync", "publish")
_TARGET_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?")


def _name_problem(name: str) -> str:
    if not _TARGET_NAME.fullmatch(name):
        return (
            f"target name {name!r} must be 1-32 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    if name in RESERVED_TARGET_NAMES:
        return f"target name {name!r} is reserved (one of {', '.join(RESERVED_TARGET_NAMES)})"
    return ""


#: The environment :func:`settings_from_env` reads, in place of ``os.environ``.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("rendersync_environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """The environment-variable source, reading a given mapping instead of ``os.environ``
    (the hook pydantic-settings' own dotenv source overrides)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            (name if self.case_sensitive else name.lower()): value
            for name, value in self._environ.items()
            if not (self.env_ignore_empty and value == "")
        }


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    """The Settings a process whose environment is ``environ`` reads (``os.environ`` is
    neither read nor changed). Raises pydantic's ``ValidationError`` as ``Settings()`` does."""
    token = _ENVIRON.set(environ)
    try:
        return Settings()
    finally:
        _ENVIRON.reset(token)
