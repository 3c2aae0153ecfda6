"""Every installer trusts the certificates the build machine trusts.

pip (from 24.2) reads the system's trust store by itself, and so do the tools that use
`truststore` like it: PDM, and Pipenv, whose vendored pip is recent. uv and requests-based tools
(Poetry) bring their own copy of the Mozilla roots and ignore the system's store, so behind a
TLS-inspecting proxy, or with a private index signed by a corporate CA that the machine trusts,
they fail where pip succeeds. Each is pointed at the system's store in its own way, unless the
user already chose what to trust: then the user's choice stands.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from enum import Enum
from pathlib import Path

__all__ = ["TlsClient", "system_ca_bundle", "trust_env"]


class TlsClient(Enum):
    """How a tool decides which certificates to trust."""

    PIP = "pip"  # PIP_CERT; pips before 24.2 trust only certifi
    UV = "uv"  # its bundled roots, or the platform's store with UV_SYSTEM_CERTS
    REQUESTS = "requests"  # certifi, or REQUESTS_CA_BUNDLE
    # The system's store through `truststore` (OpenSSL's default paths, SSL_CERT_FILE included):
    # nothing to tell it. Pipenv's vendored pip 26.2 and PDM 2.29 at the pinned versions.
    TRUSTSTORE = "truststore"


# The settings by which a user already said what to trust, per client.
_USER_CHOICES = {
    TlsClient.PIP: ("PIP_CERT",),
    TlsClient.UV: ("UV_SYSTEM_CERTS", "UV_NATIVE_TLS", "SSL_CERT_FILE", "SSL_CERT_DIR"),
    TlsClient.REQUESTS: ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"),
    TlsClient.TRUSTSTORE: (),
}


def system_ca_bundle() -> str | None:
    """The CA bundle OpenSSL uses on this machine (SSL_CERT_FILE, else its default file)."""
    cafile = ssl.get_default_verify_paths().cafile
    return cafile if cafile and Path(cafile).is_file() else None


def trust_env(client: TlsClient, env: Mapping[str, str]) -> dict[str, str]:
    """The env vars that make `client` trust the system's store, given the build's `env`;
    empty when the user chose already or the machine has no bundle to point at."""
    if any(env.get(name) for name in _USER_CHOICES[client]):
        return {}
    match client:
        case TlsClient.TRUSTSTORE:
            return {}
        case TlsClient.UV:
            # uv reads the platform's store itself (and SSL_CERT_FILE, when the user sets it).
            return {"UV_SYSTEM_CERTS": "1"}
        case TlsClient.PIP | TlsClient.REQUESTS:
            bundle = env.get("SSL_CERT_FILE") or system_ca_bundle()
            if bundle is None:
                return {}
            return {"PIP_CERT" if client is TlsClient.PIP else "REQUESTS_CA_BUNDLE": bundle}
