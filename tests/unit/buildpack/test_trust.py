"""Every installer is pointed at the system's certificates, unless the user chose others."""

from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.buildpack.dependencies import trust
from pycnb.buildpack.dependencies.trust import TlsClient, trust_env

BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture(autouse=True)
def system_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trust, "system_ca_bundle", lambda: BUNDLE)


def test_each_client_gets_the_system_store_its_own_way() -> None:
    assert trust_env(TlsClient.PIP, {}) == {"PIP_CERT": BUNDLE}
    assert trust_env(TlsClient.UV, {}) == {"UV_SYSTEM_CERTS": "1"}
    assert trust_env(TlsClient.REQUESTS, {}) == {"REQUESTS_CA_BUNDLE": BUNDLE}


def test_an_ssl_cert_file_the_user_set_is_what_requests_and_pip_trust() -> None:
    env = {"SSL_CERT_FILE": "/my/ca.pem"}
    assert trust_env(TlsClient.REQUESTS, env) == {"REQUESTS_CA_BUNDLE": "/my/ca.pem"}
    assert trust_env(TlsClient.PIP, env) == {"PIP_CERT": "/my/ca.pem"}
    assert trust_env(TlsClient.UV, env) == {}, "uv reads SSL_CERT_FILE itself"


@pytest.mark.parametrize(
    ("client", "setting"),
    [
        (TlsClient.PIP, "PIP_CERT"),
        (TlsClient.UV, "UV_SYSTEM_CERTS"),
        (TlsClient.UV, "UV_NATIVE_TLS"),
        (TlsClient.UV, "SSL_CERT_DIR"),
        (TlsClient.REQUESTS, "REQUESTS_CA_BUNDLE"),
        (TlsClient.REQUESTS, "CURL_CA_BUNDLE"),
    ],
)
def test_the_users_own_choice_stands(client: TlsClient, setting: str) -> None:
    assert trust_env(client, {setting: "x"}) == {}


def test_no_bundle_on_the_machine_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trust, "system_ca_bundle", lambda: None)
    assert trust_env(TlsClient.REQUESTS, {}) == {}
    assert trust_env(TlsClient.PIP, {}) == {}


def test_system_ca_bundle_is_a_file_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    found = trust.system_ca_bundle()
    assert found is None or Path(found).is_file()
