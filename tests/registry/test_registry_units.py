"""The registry package's pure parts: challenges, config lookup, platforms, errors."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
import requests

from layerplan.oci import Digest
from layerplan.oci.descriptor import MediaType
from layerplan.registry import Credentials, DockerConfigKeychain, FetchedManifest, Platform, RegistryAuthError
from layerplan.registry.auth import parse_challenge
from layerplan.registry.errors import RegistryNotFoundError, error_from_response
from layerplan.registry.manifest import select_platform
from layerplan.registry.transport import scheme_for


def test_parse_bearer_challenge() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'
    )
    assert challenge is not None and challenge.scheme == "bearer"
    assert dict(challenge.params) == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull,push",
    }


def test_parse_basic_challenge_and_garbage() -> None:
    basic = parse_challenge('Basic realm="layerplan-test"')
    assert basic is not None and basic.scheme == "basic" and basic.params["realm"] == "layerplan-test"
    assert parse_challenge("") is None


def _keychain(tmp_path: Path, config: dict) -> DockerConfigKeychain:  # type: ignore[type-arg]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return DockerConfigKeychain(path)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_docker_hub_credentials_are_found_under_the_v1_key(tmp_path: Path) -> None:
    keychain = _keychain(tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": _b64("me:pw:with:colons")}}})
    assert keychain.credentials_for("docker.io") == Credentials(username="me", password="pw:with:colons")
    assert keychain.credentials_for("ghcr.io") is None


def test_identity_token_entry(tmp_path: Path) -> None:
    keychain = _keychain(tmp_path, {"auths": {"r.example": {"identitytoken": "refresh-me"}}})
    assert keychain.credentials_for("r.example") == Credentials(identity_token="refresh-me")


def test_bad_auth_field_says_where(tmp_path: Path) -> None:
    keychain = _keychain(tmp_path, {"auths": {"r.example": {"auth": "not base64!"}}})
    with pytest.raises(RegistryAuthError, match=r"auths\.r\.example\.auth"):
        keychain.credentials_for("r.example")


def test_missing_config_means_anonymous(tmp_path: Path) -> None:
    assert DockerConfigKeychain(tmp_path / "nope.json").credentials_for("r.example") is None


def test_store_without_the_entry_falls_back_to_auths(tmp_path: Path, monkeypatch) -> None:
    helper = tmp_path / "docker-credential-empty"
    helper.write_text("#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n")
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    keychain = _keychain(tmp_path, {"credsStore": "empty", "auths": {"r.example": {"auth": _b64("u:p")}}})
    assert keychain.credentials_for("r.example") == Credentials(username="u", password="p")


def test_helper_token_marker_means_identity_token(tmp_path: Path, monkeypatch) -> None:
    helper = tmp_path / "docker-credential-tok"
    helper.write_text('#!/bin/sh\nprintf \'{"Username": "<token>", "Secret": "rt"}\'\n')
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    keychain = _keychain(tmp_path, {"credHelpers": {"r.example": "tok"}})
    assert keychain.credentials_for("r.example") == Credentials(identity_token="rt")


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_failing_helper_is_named_but_its_output_never_shown(tmp_path: Path, monkeypatch, stream: str) -> None:
    """A helper that printed the secret (or a token in its error) and then failed."""
    redirect = "" if stream == "stdout" else " >&2"
    helper = tmp_path / "docker-credential-leaky"
    helper.write_text(
        "#!/bin/sh\n"
        f'echo \'{{"Username": "u", "Secret": "hunter2-FAKE-SECRET"}}\'{redirect}\n'
        f"echo 'error: token hunter2-FAKE-SECRET rejected'{redirect}\n"
        "exit 1\n"
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    keychain = _keychain(tmp_path, {"credHelpers": {"r.example": "leaky"}})
    with pytest.raises(RegistryAuthError) as caught:
        keychain.credentials_for("r.example")
    message = str(caught.value)
    assert "hunter2" not in message and "FAKE-SECRET" not in message
    assert "docker-credential-leaky" in message and "exit 1" in message and "output is hidden" in message
    assert "hunter2" not in repr(caught.value.__cause__) and caught.value.__cause__ is None


def test_credentials_repr_hides_the_password() -> None:
    assert "s3cret" not in repr(Credentials(username="u", password="s3cret"))


def test_scheme_is_https_unless_loopback_or_insecure() -> None:
    assert scheme_for("ghcr.io") == "https"
    assert scheme_for("127.0.0.1:5000") == "http"
    assert scheme_for("localhost:5000") == "http"
    assert scheme_for("[::1]:5000") == "http"
    assert scheme_for("registry.lan:5000", insecure_hosts={"registry.lan:5000"}) == "http"


def _index(*platforms: dict) -> FetchedManifest:  # type: ignore[type-arg]
    manifests = [
        {"mediaType": MediaType.OCI_MANIFEST, "digest": str(Digest.of_bytes(json.dumps(p).encode())), "size": 1,
         "platform": p}
        for p in platforms
    ]
    data = json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": manifests}).encode()
    return FetchedManifest(data, MediaType.OCI_INDEX, Digest.of_bytes(data))


def test_select_platform_from_an_index() -> None:
    amd = {"os": "linux", "architecture": "amd64"}
    arm = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    index = _index(amd, arm)
    assert index.is_index
    assert select_platform(index, Platform.parse("linux/arm64")).platform == arm
    assert select_platform(index, Platform.parse("linux/arm64/v8")).platform == arm
    assert select_platform(index, Platform.parse("linux/amd64")).platform == amd
    with pytest.raises(LookupError, match="linux/amd64, linux/arm64/v8"):
        select_platform(index, Platform.parse("linux/s390x"))
    with pytest.raises(ValueError):
        Platform.parse("linux")


def _response(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.reason = "Reason"
    return response


def test_error_json_becomes_a_narrow_error() -> None:
    body = json.dumps({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": "sha256:x"}]})
    error = error_from_response(_response(404, body.encode()), action="get blob", registry="r.example")
    assert isinstance(error, RegistryNotFoundError)
    assert (error.status, error.code, error.detail) == (404, "BLOB_UNKNOWN", "sha256:x")
    assert str(error) == "get blob: r.example answered HTTP 404 (BLOB_UNKNOWN: blob unknown to registry)"


def test_error_without_body_and_401_hint(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    error = error_from_response(_response(401, b""), action="check blob", registry="r.example")
    assert isinstance(error, RegistryAuthError) and error.code is None
    assert error.hint == f"check credentials in {tmp_path / 'config.json'} or run `docker login r.example`"


def test_docker_hub_is_reached_at_its_api_host() -> None:
    """`python:3.12-slim` names docker.io, whose /v2/ API lives at registry-1.docker.io
    (no request is sent here: only the URL is checked)."""
    from layerplan.oci.reference import ImageReference
    from layerplan.registry.transport import Transport

    hub = Transport(ImageReference.parse("python:3.12-slim").registry)
    assert hub.url("/v2/library/python/manifests/3.12-slim") == "https://registry-1.docker.io/v2/library/python/manifests/3.12-slim"
    assert Transport("ghcr.io").url("/v2/") == "https://ghcr.io/v2/"
    assert Transport("127.0.0.1:5000").url("/v2/") == "http://127.0.0.1:5000/v2/"
