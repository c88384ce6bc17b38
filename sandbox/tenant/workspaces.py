"""Hosted mode's workspaces: API keys (kept hashed), and a workspace's own view of a scenario.

A workspace is the unit of isolation: its banks, clients, customers, rules, journal, outbox
and clock are its own. The ids a workspace's banks hand out start with ``<workspace>.``
(client ids, linkage ids, tokens), which is how a bank-facing request, carrying nothing but
what a real bank's would, finds its workspace. Client secrets are generated per workspace
(an HMAC of the server's secret key), so no published demo secret works in hosted mode.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from sandbox.clock import wall_seconds
from sandbox.scenario.model import ClientModel, RuleModel, Scenario
from sandbox.store.base import WORKSPACE_NAME, WorkspaceRecord
from sandbox.tenant.registry import Registry
from sandbox.tenant.tenant import Tenant

KEY_PREFIX = "sbx_"
CLIENT_ID_MAX = 128  # ClientModel.client_id
RESERVED = frozenset({"admin", "api", "sandbox", "static", "metrics", "health"})


class WorkspaceError(ValueError):
    """A workspace cannot be created (bad or taken name)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def key_hash(api_key: str) -> str:
    """What the store keeps of an API key (keys are random: SHA-256 is enough)."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    """``name`` if it can name a workspace; WorkspaceError otherwise."""
    if not WORKSPACE_NAME.fullmatch(name):
        raise WorkspaceError(
            "a workspace name is 1-32 of a-z, 0-9 and '-', starting with a letter",
            "invalid_name",
        )
    if name in RESERVED:
        raise WorkspaceError(f"{name!r} is reserved; choose another name", "invalid_name")
    return name


def workspace_of(identifier: str | None) -> str | None:
    """The workspace a hosted id (client id, linkage id, token) names, if it names one."""
    if not identifier:
        return None
    name, dot, _ = identifier.partition(".")
    return name if dot and WORKSPACE_NAME.fullmatch(name) else None


def client_id_in(workspace: str, client_id: str) -> str:
    """The hosted id of a scenario's client: ``<workspace>.<client_id>`` (kept if prefixed)."""
    prefix = f"{workspace}."
    return client_id if client_id.startswith(prefix) else prefix + client_id


def client_secret_in(secret_key: bytes, workspace: str, bank: str, client_id: str) -> str:
    """The generated secret of a hosted client (stable across restarts and re-uploads)."""
    message = f"client-secret\x00{workspace}\x00{bank}\x00{client_id}".encode()
    digest = hmac.new(secret_key, message, hashlib.sha256).digest()
    return "sbxs_" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def rule_in(workspace: str, rule: RuleModel) -> RuleModel:
    """A rule whose ``when.client`` names the workspace's hosted client id."""
    if rule.when.client is None:
        return rule
    when = rule.when.model_copy(update={"client": client_id_in(workspace, rule.when.client)})
    return rule.model_copy(update={"when": when})


def scenario_in(workspace: str, scenario: Scenario, secret_key: bytes) -> Scenario:
    """``scenario`` as ``workspace`` runs it: hosted client ids and generated secrets."""
    clients = [client_in(workspace, scenario.bank.code, c, secret_key) for c in scenario.clients]
    rules = [rule_in(workspace, r) for r in scenario.rules]
    return scenario.model_copy(update={"clients": clients, "rules": rules})


def client_in(workspace: str, bank: str, client: ClientModel, secret_key: bytes) -> ClientModel:
    """A client as ``workspace`` registers it: hosted id and generated secret, validated
    again (the prefix must still fit the id's length); WorkspaceError otherwise."""
    hosted = client_id_in(workspace, client.client_id)
    secret = client_secret_in(secret_key, workspace, bank, hosted)
    try:
        return ClientModel.model_validate(
            {**client.model_dump(), "client_id": hosted, "client_secret": secret}
        )
    except ValidationError:
        raise WorkspaceError(
            f"client_id {client.client_id[:40]!r}... is too long with the workspace's prefix "
            f"{workspace + '.'!r}: at most {CLIENT_ID_MAX - len(workspace) - 1} characters",
            "client_id_too_long",
        ) from None


def clients_of(tenant: Tenant) -> list[dict[str, object]]:
    """The clients of a bank as its workspace may see them (with their secrets)."""
    return [
        {
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "redirect_uris": list(c.redirect_uris),
            "pkce": c.pkce,
        }
        for c in tenant.scenario.clients
    ]


@dataclass(frozen=True, slots=True)
class Created:
    """A new workspace: its API key (shown once) and the banks it starts with."""

    name: str
    api_key: str
    tenants: list[Tenant]


async def create_workspace(
    registry: Registry,
    name: str,
    scenarios: Sequence[tuple[Scenario, str]],
    secret_key: bytes,
) -> Created:
    """Create workspace ``name`` with a new API key, loading ``scenarios`` into it."""
    check_name(name)
    hosted = [(scenario_in(name, scenario, secret_key), source) for scenario, source in scenarios]
    api_key = f"{KEY_PREFIX}{name}_{secrets.token_urlsafe(32)}"
    if not await registry.store.add_workspace(
        WorkspaceRecord(name, key_hash(api_key), wall_seconds())
    ):
        raise WorkspaceError(f"workspace {name!r} already exists", "workspace_exists")
    tenants = []
    for scenario, source in hosted:
        tenant, _ = await registry.load(scenario, source, name)
        tenants.append(tenant)
    return Created(name, api_key, tenants)


async def workspace_of_key(registry: Registry, api_key: str) -> str | None:
    """The workspace whose API key this is, if any."""
    if not api_key.startswith(KEY_PREFIX):
        return None
    record = await registry.store.workspace_of_key(key_hash(api_key))
    return record.name if record is not None else None
