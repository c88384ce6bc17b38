"""sandbox.web.client_tls: aiohttp imported the way ``sandbox serve`` imports it.

Each check runs in a fresh interpreter: this test process imported aiohttp long ago.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.web import client_tls

ROOT = Path(__file__).resolve().parents[2]
TLS = Path(__file__).with_name("tls")

_IMPORTED = """
import json, ssl, sys
from sandbox.web import client_tls
client_tls.import_aiohttp()
import aiohttp.connector as connector
client_tls.wait_for_certificates()
verified, unverified = connector._SSL_CONTEXT_VERIFIED, connector._SSL_CONTEXT_UNVERIFIED
json.dump({
    "verified_cas": verified.cert_store_stats()["x509_ca"],
    "verified_mode": int(verified.verify_mode),
    "default_cas": ssl.create_default_context().cert_store_stats()["x509_ca"],
    "unverified_cas": unverified.cert_store_stats()["x509_ca"],
    "unverified_mode": int(unverified.verify_mode),
    "method_restored": "set_default_verify_paths" not in vars(ssl.SSLContext),
}, sys.stdout)
"""

# A TLS server on 127.0.0.1 with a self-signed certificate, and aiohttp's client with its
# default (verified) TLS asking it for a page: prints what the client got.
_DIALS_OUT = """
import asyncio, ssl, sys
from sandbox.web import client_tls
client_tls.import_aiohttp()
import aiohttp
from aiohttp import web
client_tls.wait_for_certificates()

async def main():
    app = web.Application()
    app.router.add_get("/", lambda request: web.Response(text="hello over TLS"))
    runner = web.AppRunner(app)
    await runner.setup()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"https://127.0.0.1:{port}/") as response:
                print(await response.text())
    except aiohttp.ClientConnectorCertificateError:
        print("certificate refused")
    finally:
        await runner.cleanup()

asyncio.run(main())
"""


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


CERT, KEY = TLS / "127.0.0.1-cert.pem", TLS / "127.0.0.1-key.pem"


def test_the_verified_context_holds_the_whole_ca_store_and_the_unverified_none() -> None:
    # A store of one known certificate, whatever the machine has installed.
    found = json.loads(_python(_IMPORTED, env={"SSL_CERT_FILE": str(CERT)}))
    # Waited for, the verified context holds the CA a default context loads.
    assert found["verified_cas"] == found["default_cas"] == 1
    assert found["verified_mode"] == 2  # ssl.CERT_REQUIRED
    # The unverified context verifies nothing, so no store was loaded into it.
    assert found["unverified_cas"] == 0
    assert found["unverified_mode"] == 0  # ssl.CERT_NONE
    # ssl is as it was once aiohttp is imported (the default context above loaded its CAs).
    assert found["method_restored"] is True


@pytest.mark.parametrize(
    ("trusted", "answer"),
    [(False, "certificate refused"), (True, "hello over TLS")],
    ids=["unknown-certificate", "certificate-in-SSL_CERT_FILE"],
)
def test_a_client_in_the_serving_process_still_verifies_tls_peers(
    trusted: bool, answer: str
) -> None:
    """The store loaded on the thread is the system's default one, SSL_CERT_FILE and all."""
    env = {"SSL_CERT_FILE": str(CERT)} if trusted else {}
    assert _python(_DIALS_OUT, str(CERT), str(KEY), env=env).strip() == answer


# `sandbox serve` up to the moment it would start serving: what aiohttp's contexts hold then.
_SERVES = """
import json, sys
from sandbox.web import client_tls

before = "aiohttp" in sys.modules
seen = {}
waited = client_tls.wait_for_certificates

def wait():
    waited()
    import aiohttp.connector as connector
    import aiohttp.web
    seen["verified_cas"] = connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"]
    seen["unverified_cas"] = connector._SSL_CONTEXT_UNVERIFIED.cert_store_stats()["x509_ca"]
    aiohttp.web.run_app = lambda *args, **kwargs: None  # stop where it would serve

client_tls.wait_for_certificates = wait
from sandbox.__main__ import main
status = main(["serve", "--port", "0", *sys.argv[1:]])
json.dump({"aiohttp_before": before, "status": status, **seen}, sys.stdout)
"""


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_sandbox_serve_imports_aiohttp_this_way_and_waits_before_it_serves(
    store: str, tmp_path: Path
) -> None:
    args = [] if store == "memory" else ["--store", f"sqlite:///{tmp_path / 'state.db'}"]
    env = {"SSL_CERT_FILE": str(CERT), "SANDBOX_SECRET_KEY": "a-test-secret-of-enough-length"}
    found = json.loads(_python(_SERVES, *args, env=env).splitlines()[-1])
    assert found["aiohttp_before"] is False
    assert found["status"] == 0
    # The store was loaded before the server would answer, and none into the unverified one
    # (aiohttp imported any other way loads one into each).
    assert found["verified_cas"] == 1
    assert found["unverified_cas"] == 0


def test_a_process_that_imported_aiohttp_already_is_left_as_it_is() -> None:
    import aiohttp.connector

    before = aiohttp.connector._SSL_CONTEXT_VERIFIED
    client_tls.import_aiohttp()
    assert client_tls._loading == []  # no thread started, nothing to wait for
    assert aiohttp.connector._SSL_CONTEXT_VERIFIED is before
    client_tls.wait_for_certificates()  # returns at once


def test_a_store_that_cannot_be_loaded_stops_the_start_as_aiohttp_would() -> None:
    import ssl
    import threading

    class Unreadable:
        def set_default_verify_paths(self) -> None:
            raise ssl.SSLError("the CA store is unreadable")

    thread = threading.Thread(target=client_tls._load, args=([Unreadable()],))
    thread.start()
    client_tls._loading.append(thread)
    with pytest.raises(ssl.SSLError, match="unreadable"):
        client_tls.wait_for_certificates()
    client_tls.wait_for_certificates()  # raised once; nothing is left to wait for
