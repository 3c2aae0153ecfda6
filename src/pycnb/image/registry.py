"""A small OCI distribution client (the distribution spec's pull and push), standard library only.

- Auth: the registry's `WWW-Authenticate` challenge decides. `Basic` sends the credentials;
  `Bearer` fetches a token from the realm (with the credentials, if any), as docker does.
  Credentials come from `REGISTRY_AUTH_FILE` (podman/skopeo), `$DOCKER_CONFIG/config.json` or
  `~/.docker/config.json`: an inline `auth`/`username`+`password`, or a credential helper
  (`credHelpers`, `credsStore`: `docker-credential-<name> get`).
- Push: each blob is HEADed first and uploaded only when the registry lacks it (a monolithic
  POST + PUT), then the manifest is PUT. Bytes actually sent are counted.
- TLS uses the system's trust store (the default SSL context); a registry on this machine
  (localhost, 127.0.0.0/8, ::1) is spoken to over plain HTTP, as docker does.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import BinaryIO

from pycnb.image.blobs import BlobStore
from pycnb.image.errors import RegistryError
from pycnb.image.reference import DOCKER_HUB, RegistryRef

__all__ = ["Credentials", "Registry", "credentials_for"]

_TIMEOUT = 60
_CHUNK = 1 << 20
_HUB_KEY = "https://index.docker.io/v1/"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def _config_files(env: Mapping[str, str]) -> list[Path]:
    files = []
    if env.get("REGISTRY_AUTH_FILE"):
        files.append(Path(env["REGISTRY_AUTH_FILE"]))
    docker_config = env.get("DOCKER_CONFIG")
    home = Path(env.get("HOME") or Path.home())
    files.append(
        Path(docker_config) / "config.json" if docker_config else home / ".docker" / "config.json"
    )
    return files


def _keys(registry: str) -> list[str]:
    if registry == DOCKER_HUB:
        return [_HUB_KEY, "docker.io", "index.docker.io", "registry-1.docker.io"]
    return [registry, f"https://{registry}", f"http://{registry}"]


def credentials_for(registry: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    env = os.environ if env is None else env
    for path in _config_files(env):
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(config, dict):
            continue
        auths = config.get("auths") or {}
        for key in _keys(registry):
            entry = auths.get(key)
            if isinstance(entry, dict) and (found := _inline(entry)) is not None:
                return found
        helpers = config.get("credHelpers") or {}
        helper: object = next((helpers[k] for k in _keys(registry) if k in helpers), None)
        helper = helper or config.get("credsStore")
        if isinstance(helper, str) and (found := _from_helper(helper, registry)) is not None:
            return found
    return None


def _inline(entry: Mapping[str, object]) -> Credentials | None:
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, _, password = base64.b64decode(auth).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return Credentials(user, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str):
        return Credentials(name, secret)
    return None


def _from_helper(helper: str, registry: str) -> Credentials | None:
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        return None
    server = _HUB_KEY if registry == DOCKER_HUB else registry
    try:
        done = subprocess.run(
            [program, "get"], input=server, capture_output=True, text=True, check=True, timeout=30
        )
        data = json.loads(done.stdout)
    except (subprocess.SubprocessError, OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("Username") and data.get("Secret"):
        return Credentials(str(data["Username"]), str(data["Secret"]))
    return None


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    pass


@dataclass
class Registry:
    """One repository of one registry."""

    ref: RegistryRef
    credentials: Credentials | None = None
    pushed_bytes: int = 0
    _authorization: str | None = field(default=None, repr=False)
    _push: bool = False

    @classmethod
    def for_ref(cls, ref: RegistryRef, *, push: bool = False) -> Registry:
        return cls(ref, credentials_for(ref.registry), _push=push)

    @property
    def _base(self) -> str:
        return f"{self.ref.scheme}://{self.ref.api_host}/v2/{self.ref.repository}"

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | BinaryIO | None = None,
        ok: tuple[int, ...] = (200,),
        action: str,
    ) -> tuple[int, Message, BinaryIO]:
        for attempt in range(2):
            request = urllib.request.Request(url, method=method, data=body)  # noqa: S310 - https or loopback http
            for name, value in (headers or {}).items():
                request.add_header(name, value)
            if self._authorization is not None:
                # Unredirected: a blob GET may redirect to storage that rejects our token.
                request.add_unredirected_header("Authorization", self._authorization)
            try:
                response = urllib.request.urlopen(request, timeout=_TIMEOUT)  # noqa: S310
            except urllib.error.HTTPError as error:
                if error.code == 401 and attempt == 0 and self._authenticate(error.headers):  # noqa: PLR2004
                    if hasattr(body, "seek"):
                        body.seek(0)  # type: ignore[union-attr]
                    continue
                if error.code in ok:
                    return error.code, error.headers, error  # type: ignore[return-value]
                raise self._error(action, error) from None
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise RegistryError(
                    self.ref.registry, action, f"cannot connect ({reason})"
                ) from None
            if response.status not in ok:
                raise RegistryError(self.ref.registry, action, f"HTTP {response.status}")
            return response.status, response.headers, response
        raise RegistryError(self.ref.registry, action, "authentication failed")

    def _error(self, action: str, error: urllib.error.HTTPError) -> RegistryError:
        detail = ""
        try:
            payload = json.loads(error.read() or b"{}")
            errors = payload.get("errors") or []
            detail = "; ".join(str(e.get("message") or e.get("code")) for e in errors)
        except (ValueError, AttributeError, OSError):
            pass
        reason = f"HTTP {error.code}" + (f" ({detail})" if detail else "")
        hint = ""
        if error.code in (401, 403):
            hint = (
                "log in with `docker login` or `podman login` (pycnb reads ~/.docker/config.json, "
                "$DOCKER_CONFIG and $REGISTRY_AUTH_FILE)"
                if self.credentials is None
                else "the credentials found for it were refused"
            )
        return RegistryError(self.ref.registry, action, reason, hint)

    def _authenticate(self, headers: Message) -> bool:
        scheme, params = _challenge(headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            if self.credentials is None:
                return False
            token = f"{self.credentials.username}:{self.credentials.password}".encode()
            self._authorization = "Basic " + base64.b64encode(token).decode()
            return True
        if scheme != "bearer" or "realm" not in params:
            return False
        actions = "pull,push" if self._push else "pull"
        query = {"scope": f"repository:{self.ref.repository}:{actions}"}
        if "service" in params:
            query["service"] = params["service"]
        request = urllib.request.Request(  # noqa: S310 - the registry's own realm
            f"{params['realm']}?{urllib.parse.urlencode(query)}"
        )
        if self.credentials is not None:
            token = f"{self.credentials.username}:{self.credentials.password}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(token).decode())
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
                data = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False
        bearer = data.get("token") or data.get("access_token")
        if not bearer:
            return False
        self._authorization = f"Bearer {bearer}"
        return True

    # --- pull ---------------------------------------------------------------------------

    def get_manifest(self, reference: str, accept: tuple[str, ...]) -> tuple[bytes, str]:
        _, headers, response = self._request(
            "GET",
            f"{self._base}/manifests/{reference}",
            headers={"Accept": ", ".join(accept)},
            action=f"reading the manifest of {self.ref}",
        )
        with response:
            data = response.read()
        media_type = headers.get_content_type()
        return data, media_type

    def fetch_blob(self, digest: str, store: BlobStore) -> None:
        if store.has(digest):
            return
        _, _, response = self._request(
            "GET", f"{self._base}/blobs/{digest}", action=f"downloading {digest[:19]}"
        )
        with response, store.writer() as (out, written):
            while chunk := response.read(_CHUNK):
                out.write(chunk)
            if out.digest != digest:
                msg = f"the blob served as {digest} has the digest {out.digest}"
                raise RegistryError(self.ref.registry, "downloading", msg)
        _ = written

    # --- push ---------------------------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        status, _, response = self._request(
            "HEAD",
            f"{self._base}/blobs/{digest}",
            ok=(200, 404),
            action=f"checking {digest[:19]}",
        )
        response.close()
        return status == 200  # noqa: PLR2004

    def push_blob(self, digest: str, path: Path) -> bool:
        """Upload the blob unless the registry has it; True if it was uploaded."""
        if self.has_blob(digest):
            return False
        action = f"uploading {digest[:19]}"
        _, headers, response = self._request(
            "POST", f"{self._base}/blobs/uploads/", ok=(202,), body=b"", action=action
        )
        response.close()
        location = headers.get("Location")
        if not location:
            raise RegistryError(self.ref.registry, action, "no upload location in the answer")
        url = urllib.parse.urljoin(f"{self.ref.scheme}://{self.ref.api_host}/", location)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
        size = path.stat().st_size
        with path.open("rb") as stream:
            _, _, response = self._request(
                "PUT",
                url,
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                body=stream,
                ok=(201, 204),
                action=action,
            )
        response.close()
        self.pushed_bytes += size
        return True

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> None:
        _, _, response = self._request(
            "PUT",
            f"{self._base}/manifests/{reference}",
            headers={"Content-Type": media_type},
            body=data,
            ok=(201, 202, 204),
            action=f"writing the manifest of {self.ref}",
        )
        response.close()
        self.pushed_bytes += len(data)
