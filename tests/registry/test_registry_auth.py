"""Credentials against the real basic-auth registry: config.json, helpers, wrong ones."""

from __future__ import annotations

import base64
import json
import os
import stat
import uuid
from pathlib import Path

import pytest
from engine import AUTH_PASSWORD, AUTH_USER
from registry_testimage import make_image, unique_repository

from layerplan.oci import ImageReference
from layerplan.registry import (
    BlobStatus,
    Credentials,
    RegistryAuthError,
    RegistryClient,
    push_image,
)

pytestmark = pytest.mark.engine


def _write_config(directory: Path, config: dict) -> Path:  # type: ignore[type-arg]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps(config))
    return path


def _auth_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def _push_and_read(client: RegistryClient, registry: str) -> None:
    image = make_image([{"hello.txt": uuid.uuid4().bytes}])
    ref = ImageReference.parse(f"{registry}/{unique_repository('auth')}:v1")
    report = push_image(client, ref, image.image())
    assert report.count(BlobStatus.PUSHED) == 2
    assert client.get_manifest(ref.repository, "v1").data == image.manifest


def test_credentials_from_docker_config_work(auth_registry: str, tmp_path, monkeypatch) -> None:
    _write_config(tmp_path / "docker", {"auths": {auth_registry: _auth_entry(AUTH_USER, AUTH_PASSWORD)}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    _push_and_read(RegistryClient(auth_registry), auth_registry)


def test_config_keys_with_scheme_match_too(auth_registry: str, tmp_path, monkeypatch) -> None:
    # `docker login http://host:port` stores the key with its scheme.
    entry = {"username": AUTH_USER, "password": AUTH_PASSWORD}
    _write_config(tmp_path / "docker", {"auths": {f"http://{auth_registry}/": entry}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    _push_and_read(RegistryClient(auth_registry), auth_registry)


def test_wrong_credentials_give_401_with_a_hint(auth_registry: str, tmp_path, monkeypatch) -> None:
    config = _write_config(tmp_path / "docker", {"auths": {auth_registry: _auth_entry(AUTH_USER, "wrong")}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    client = RegistryClient(auth_registry)
    image = make_image([{"hello.txt": uuid.uuid4().bytes}])
    ref = ImageReference.parse(f"{auth_registry}/{unique_repository('denied')}:v1")

    with pytest.raises(RegistryAuthError) as caught:
        push_image(client, ref, image.image())

    error = caught.value
    assert error.status == 401
    assert error.hint is not None
    assert str(config) in error.hint and f"docker login {auth_registry}" in error.hint
    assert "\n" not in str(error) and "HTTP 401" in str(error)


def test_no_credentials_at_all_give_401(auth_registry: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    with pytest.raises(RegistryAuthError) as caught:
        RegistryClient(auth_registry).get_manifest(unique_repository("anon"), "v1")
    assert caught.value.status == 401


def test_explicit_credentials_override_the_config(auth_registry: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    client = RegistryClient(auth_registry, credentials=Credentials(username=AUTH_USER, password=AUTH_PASSWORD))
    _push_and_read(client, auth_registry)


@pytest.mark.parametrize("how", ["credHelpers", "credsStore"])
def test_credential_helper_is_asked(auth_registry: str, tmp_path, monkeypatch, how: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    asked = tmp_path / "asked.txt"
    helper = bin_dir / "docker-credential-test"
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 3\n'
        "read server\n"
        f'echo "$server" >> "{asked}"\n'
        f'if [ "$server" = "{auth_registry}" ]; then\n'
        f'  printf \'{{"ServerURL": "%s", "Username": "{AUTH_USER}", "Secret": "{AUTH_PASSWORD}"}}\' "$server"\n'
        "else\n"
        '  echo "credentials not found in native keychain"; exit 1\n'
        "fi\n"
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = {"credHelpers": {auth_registry: "test"}} if how == "credHelpers" else {"credsStore": "test"}
    # A wrong `auths` entry must not win over the helper.
    config["auths"] = {auth_registry: _auth_entry(AUTH_USER, "stale")}
    _write_config(tmp_path / "docker", config)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))

    _push_and_read(RegistryClient(auth_registry), auth_registry)

    assert asked.read_text().split() == [auth_registry]  # asked once per client, for this registry


def test_missing_credential_helper_is_a_clear_error(auth_registry: str, tmp_path, monkeypatch) -> None:
    _write_config(tmp_path / "docker", {"credHelpers": {auth_registry: "nonexistent-layerplan"}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    with pytest.raises(RegistryAuthError) as caught:
        RegistryClient(auth_registry).get_manifest(unique_repository("x"), "v1")
    assert "docker-credential-nonexistent-layerplan" in str(caught.value)
    assert "not on PATH" in str(caught.value)
