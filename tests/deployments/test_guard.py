"""The outbound guard's transport: over TLS it connects to the address it checked while the
certificate, SNI and Host stay on the URL's name; and it keeps what the SDK does with its own
pool: shortly after a 5xx, a request that is not a plain read goes on a connection of its own
(the server may be closing the pooled one, and such a request could not be retried)."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apps.deployments.guard import GuardedAsyncTransport, sync_transport
from tests.deployments.local_server import Answer, Recorded, local_server
from tests.fixtures.dns import FakeDNS


def _first_fails(request: Recorded) -> Answer:
    return Answer(500) if request.path == "/fails" else Answer(200)


async def _send(url: str, *requests: tuple[str, str]) -> None:
    async with httpx.AsyncClient(base_url=url, transport=GuardedAsyncTransport()) as client:
        for method, path in requests:
            await client.request(method, path, json={} if method == "POST" else None)


def test_after_a_server_error_a_post_goes_on_a_new_connection():
    with local_server(_first_fails, keep_alive=True) as server:
        asyncio.run(_send(server.url, ("GET", "/fails"), ("POST", "/threads")))

    failed, post = server.requests
    assert post.peer_port != failed.peer_port


def test_without_a_server_error_requests_share_the_pooled_connection():
    with local_server(_first_fails, keep_alive=True) as server:
        asyncio.run(_send(server.url, ("GET", "/ok"), ("POST", "/threads"), ("GET", "/ok")))

    assert len({request.peer_port for request in server.requests}) == 1


def test_after_a_server_error_reads_stay_on_the_pooled_connection():
    with local_server(_first_fails, keep_alive=True) as server:
        asyncio.run(_send(server.url, ("GET", "/fails"), ("GET", "/ok")))

    assert len({request.peer_port for request in server.requests}) == 1


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_over_tls_the_guard_connects_to_the_checked_address_and_verifies_the_host_name(
    tmp_path, monkeypatch
):
    name = "agents.rebind.test"
    cert_path, key_path = _certificate(tmp_path, name)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the one authority the client trusts
    server_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name)
    dns = FakeDNS()
    dns.answer(name, ["127.0.0.1"])
    with local_server(lambda request: Answer(200), tls=context) as server:
        port = server.url.rsplit(":", 1)[1]
        with httpx.Client(transport=sync_transport(dns)) as client:
            response = client.get(f"https://{name}:{port}/ok")

    assert response.json() == {"ok": True}
    assert server_names == [name]  # SNI names the host, though the socket went to 127.0.0.1
    assert server.requests[0].headers["host"] == f"{name}:{port}"
    assert dns.lookups == [name]
