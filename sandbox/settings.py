"""Run-time settings: listen address, scenario files, secrets; from the CLI or environment."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
# One random key per process: sessions survive a reset but not a restart (unless set in env).
_PROCESS_SECRET = secrets.token_bytes(32)
_FALSE = {"0", "false", "no", "off", ""}


def derive_secret(text: str) -> bytes:
    """A 32-byte key from any passphrase (what EncryptedCookieStorage needs)."""
    return hashlib.sha256(text.encode("utf-8")).digest()


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
            allowed_hosts=tuple(
                h.strip().lower()
                for h in env.get("SANDBOX_ALLOWED_HOSTS", "").split(",")
                if h.strip()
            ),
        )


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
