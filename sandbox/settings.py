"""Run-time settings: listen address, scenario files, secrets; from the CLI or environment."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings stay light: the CLI reads them before pydantic is needed
    from sandbox.scenario.model import ClientModel

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
# One random key per process: sessions survive a reset but not a restart (unless set in env).
_PROCESS_SECRET = secrets.token_bytes(32)
_FALSE = {"0", "false", "no", "off", ""}


def derive_secret(text: str) -> bytes:
    """A 32-byte key from any passphrase (what EncryptedCookieStorage needs)."""
    return hashlib.sha256(text.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class Quotas:
    """What one workspace may use in hosted mode (env ``SANDBOX_QUOTA_<FIELD>``)."""

    banks: int = 5  # banks (scenarios loaded at once) per workspace
    rules: int = 100  # rules per bank: the scenario's plus those armed at run time
    scenario_bytes: int = 512 * 1024  # one scenario upload
    scenario_nodes: int = 50_000  # YAML nodes of one upload, counted after alias expansion
    customers: int = 2_000  # generated customers per bank (generate.count)
    linkages_per_client: int = 200  # linkages in progress per client
    auth_per_second: float = 20.0  # GET .../oauth/auth per workspace (and worker process)
    token_per_second: float = 20.0  # POST .../oauth/token, revoke, introspect, likewise
    journal: int = 2_000  # newest journal entries kept per bank
    outbox: int = 1_000  # newest mails kept per bank

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Quotas:
        values: dict[str, int | float] = {}
        for name, default in asdict(cls()).items():
            text = env.get(f"SANDBOX_QUOTA_{name.upper()}")
            if text is None or not text.strip():
                continue
            try:
                value = type(default)(text)
            except ValueError:
                raise ValueError(
                    f"SANDBOX_QUOTA_{name.upper()} must be a number, got {text!r}"
                ) from None
            if not value > 0:
                raise ValueError(f"SANDBOX_QUOTA_{name.upper()} must be above 0, got {text!r}")
            values[name] = value
        return cls(**values)  # type: ignore[arg-type]


# What hosted mode cannot start without (``sandbox serve --hosted``).
HOSTED_REQUIRES = ("SANDBOX_PUBLIC_URL", "SANDBOX_SECRET_KEY", "SANDBOX_ADMIN_KEY", "SANDBOX_STORE")


@dataclass(frozen=True, slots=True)
class Settings:
    """How one sandbox process runs."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    scenario_paths: tuple[Path, ...] = ()
    secret_key: bytes = field(default=_PROCESS_SECRET, repr=False)
    log_level: str = "INFO"
    access_log: bool = True
    # How apps reach the sandbox (e.g. behind a proxy): the OAuth issuer's base. Unset: the
    # scheme and Host of each request.
    public_url: str | None = None
    # Host names (besides IP addresses, localhost and the public URL's host) that requests
    # may name; any other name is refused, so no DNS-rebinding page reaches the sandbox.
    allowed_hosts: tuple[str, ...] = ()
    # Where state lives: "memory" (the default; gone when the process exits).
    store_url: str = "memory"
    # Hosted mode: many vendors, each in a workspace of its own (see sandbox.tenant.workspaces).
    hosted: bool = False
    admin_key: str | None = field(default=None, repr=False)
    quotas: Quotas = field(default_factory=Quotas)
    # A connection that sends no complete request for this long is closed (idle keep-alive,
    # or a slow-loris client dribbling its headers).
    keepalive_seconds: float = 15.0
    # Clients added to every scenario served (``--client ID:SECRET:REDIRECT_URI``).
    clients: tuple[ClientModel, ...] = ()
    # The event loop: "auto" (uvloop where it is installed: everywhere but Windows),
    # "uvloop" (refuse to start without it) or "asyncio" (the standard library's).
    event_loop: str = "auto"
    # The responses one loop iteration finishes go to their sockets together (see
    # sandbox.web.batched_writes); SANDBOX_BATCH_WRITES=0 writes each one at once.
    batch_writes: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from SANDBOX_HOST, _PORT, _SCENARIO (os.pathsep list), _SECRET_KEY, ..."""
        env = os.environ if environ is None else environ
        scenario = env.get("SANDBOX_SCENARIO", "")
        secret = env.get("SANDBOX_SECRET_KEY")
        return cls(
            host=env.get("SANDBOX_HOST") or DEFAULT_HOST,
            port=_port(env.get("SANDBOX_PORT")),
            scenario_paths=tuple(Path(p) for p in scenario.split(os.pathsep) if p),
            secret_key=derive_secret(secret) if secret else _PROCESS_SECRET,
            log_level=(env.get("SANDBOX_LOG_LEVEL") or "INFO").upper(),
            access_log=env.get("SANDBOX_ACCESS_LOG", "1").strip().lower() not in _FALSE,
            public_url=(env.get("SANDBOX_PUBLIC_URL") or "").rstrip("/") or None,
            store_url=env.get("SANDBOX_STORE") or "memory",
            hosted=env.get("SANDBOX_HOSTED", "").strip().lower() not in _FALSE,
            admin_key=env.get("SANDBOX_ADMIN_KEY") or None,
            quotas=Quotas.from_env(env),
            keepalive_seconds=_seconds(env.get("SANDBOX_KEEPALIVE_SECONDS"), 15.0),
            event_loop=(env.get("SANDBOX_EVENT_LOOP") or "auto").strip().lower(),
            batch_writes=env.get("SANDBOX_BATCH_WRITES", "1").strip().lower() not in _FALSE,
            allowed_hosts=tuple(
                h.strip().lower()
                for h in env.get("SANDBOX_ALLOWED_HOSTS", "").split(",")
                if h.strip()
            ),
        )


def hosted_problem(settings: Settings, environ: Mapping[str, str] | None = None) -> str | None:
    """Why hosted mode cannot start with these settings (one line), or None."""
    env = os.environ if environ is None else environ
    present = {
        "SANDBOX_PUBLIC_URL": settings.public_url,
        "SANDBOX_SECRET_KEY": env.get("SANDBOX_SECRET_KEY"),
        "SANDBOX_ADMIN_KEY": settings.admin_key,
        "SANDBOX_STORE": settings.store_url if settings.store_url != "memory" else None,
    }
    for name in HOSTED_REQUIRES:
        if not present[name]:
            need = "a SQL store (sqlite:///FILE or postgresql://...)" if "STORE" in name else "it"
            return f"--hosted needs {name}; set {need}"
    public = settings.public_url or ""
    if not public.startswith(("https://", "http://")):
        return f"SANDBOX_PUBLIC_URL must be an http(s) URL, got {public[:60]!r}"
    if settings.admin_key is not None and len(settings.admin_key) < 16:
        return "SANDBOX_ADMIN_KEY must be at least 16 characters"
    return None


def _seconds(text: str | None, default: float) -> float:
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"SANDBOX_KEEPALIVE_SECONDS must be a number, got {text!r}") from None
    if not 0 < value <= 3600:
        raise ValueError(f"SANDBOX_KEEPALIVE_SECONDS must be above 0 and at most 3600: {text}")
    return value


def _port(text: str | None) -> int:
    if not text:
        return DEFAULT_PORT
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"SANDBOX_PORT must be a number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"SANDBOX_PORT must be 0-65535, got {port}")
    return port
