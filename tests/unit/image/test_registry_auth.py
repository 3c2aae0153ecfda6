"""The registry client's auth handshake, as Docker Hub and GHCR run it: a 401 with a Bearer
challenge, a token from the realm (fetched with basic credentials), then the request again.

The registry in test_image.py needs no auth; this stand-in serves only the handshake, so the
client's side of it is checked without a network."""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pycnb.image.errors import RegistryError
from pycnb.image.reference import RegistryRef
from pycnb.image.registry import Credentials, Registry

_TOKEN = "t0ken"  # noqa: S105 - the stand-in registry's own token
_MANIFEST = b'{"schemaVersion":2}'


class _Handler(BaseHTTPRequestHandler):
    seen: list[str]

    def __init__(self, *args: object, seen: list[str], **kwargs: object) -> None:
        self.seen = seen
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass

    def do_GET(self) -> None:
        port = self.server.server_address[1]  # type: ignore[index]
        authorization = self.headers.get("Authorization", "")
        self.seen.append(f"{self.path.split('?')[0]} {authorization.split(' ')[0]}")
        if self.path.startswith("/token?"):
            expected = "Basic " + base64.b64encode(b"me:pw").decode()
            if authorization != expected:
                self._answer(401, b"{}")
                return
            assert "scope=repository%3Ateam%2Fapp%3Apull" in self.path
            assert "service=test" in self.path
            self._answer(200, json.dumps({"token": _TOKEN}).encode())
            return
        if authorization != f"Bearer {_TOKEN}":
            challenge = f'Bearer realm="http://127.0.0.1:{port}/token",service="test"'
            self._answer(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', challenge)
            return
        self._answer(200, _MANIFEST, content_type="application/vnd.oci.image.manifest.v1+json")

    def _answer(
        self, status: int, body: bytes, challenge: str = "", content_type: str = "application/json"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if challenge:
            self.send_header("WWW-Authenticate", challenge)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, seen=seen))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_bearer_token_from_the_realm_with_basic_credentials(
    server: tuple[str, list[str]],
) -> None:
    address, seen = server
    registry = Registry(RegistryRef(address, "team/app", "1"), Credentials("me", "pw"))
    data, media_type = registry.get_manifest("1", ("application/vnd.oci.image.manifest.v1+json",))
    assert data == _MANIFEST
    assert media_type == "application/vnd.oci.image.manifest.v1+json"
    assert seen == [
        "/v2/team/app/manifests/1 ",
        "/token Basic",
        "/v2/team/app/manifests/1 Bearer",
    ]


def test_refused_credentials_say_so(server: tuple[str, list[str]]) -> None:
    address, _ = server
    registry = Registry(RegistryRef(address, "team/app", "1"), Credentials("me", "wrong"))
    with pytest.raises(RegistryError) as caught:
        registry.get_manifest("1", ("application/vnd.oci.image.manifest.v1+json",))
    message = str(caught.value)
    assert "HTTP 401 (UNAUTHORIZED)" in message
    assert "the credentials found for it were refused" in message


def test_no_credentials_point_at_docker_login(server: tuple[str, list[str]]) -> None:
    address, _ = server
    registry = Registry(RegistryRef(address, "team/app", "1"))
    with pytest.raises(RegistryError) as caught:
        registry.get_manifest("1", ("application/vnd.oci.image.manifest.v1+json",))
    assert "docker login" in str(caught.value)
