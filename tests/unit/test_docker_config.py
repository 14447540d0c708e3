"""docr_async.docker_config: merging into ~/.docker/config.json and Kubernetes pull secrets."""

from __future__ import annotations

import base64
import json
import os
import stat
from typing import TYPE_CHECKING

import pytest
import yaml

from docr_async import DockerCredentials, ValidationError
from docr_async.docker_config import (
    conflicting_credential_helpers,
    default_docker_config_path,
    kubernetes_pull_secret,
    merge_docker_config,
    validate_dns_label,
    validate_dns_subdomain,
)

if TYPE_CHECKING:
    from pathlib import Path

HOST = "registry.digitalocean.com"
AUTH = base64.b64encode(b"tok:tok\n").decode()


def creds(auth: str = AUTH) -> DockerCredentials:
    return DockerCredentials(auths={HOST: {"auth": auth}})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_merge_creates_file_and_directory_with_private_modes(tmp_path: Path) -> None:
    path = tmp_path / "home" / ".docker" / "config.json"
    merge_docker_config(path, creds())
    assert json.loads(path.read_text()) == {"auths": {HOST: {"auth": AUTH}}}
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_merge_keeps_other_keys_and_hosts(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    existing = {
        "auths": {"ghcr.io": {"auth": "b3RoZXI="}, HOST: {"auth": "old", "identitytoken": "stale"}},
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
        "detachKeys": "ctrl-e,e",
    }
    path.write_text(json.dumps(existing))
    path.chmod(0o644)
    merge_docker_config(path, creds())
    data = json.loads(path.read_text())
    assert data["auths"] == {"ghcr.io": {"auth": "b3RoZXI="}, HOST: {"auth": AUTH}}
    assert data["proxies"] == existing["proxies"]
    assert data["detachKeys"] == "ctrl-e,e"
    assert mode(path) == 0o600, "a file holding credentials is always written 0600"


def test_merge_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{}")
    inode_before = path.stat().st_ino
    merge_docker_config(path, creds())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]
    assert path.stat().st_ino != inode_before, "replaced (os.replace), not rewritten in place"


def test_merge_follows_a_symlinked_config(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "docker.json"
    real.parent.mkdir()
    real.write_text(json.dumps({"credsStore": "desktop"}))
    link = tmp_path / "config.json"
    link.symlink_to(real)
    merge_docker_config(link, creds())
    assert link.is_symlink()
    assert json.loads(real.read_text()) == {"credsStore": "desktop", "auths": {HOST: {"auth": AUTH}}}


def test_merge_treats_an_empty_file_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("  \n")
    merge_docker_config(path, creds())
    assert json.loads(path.read_text()) == {"auths": {HOST: {"auth": AUTH}}}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_merge_refuses_to_touch_a_corrupt_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ValidationError):
        merge_docker_config(path, creds())
    assert path.read_text() == content


def test_merge_replaces_the_previous_credentials(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    merge_docker_config(path, creds("first"))
    merge_docker_config(path, creds("second"))
    assert json.loads(path.read_text())["auths"][HOST] == {"auth": "second"}


def test_conflicting_helpers_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "osxkeychain", "credHelpers": {HOST: "doctl"}}))
    notes = conflicting_credential_helpers(path, [HOST])
    assert len(notes) == 2
    assert any("credHelpers" in n for n in notes)
    assert any("credsStore" in n for n in notes)
    assert conflicting_credential_helpers(tmp_path / "missing.json", [HOST]) == []


def test_default_path_honours_docker_config(tmp_path: Path) -> None:
    assert default_docker_config_path({"DOCKER_CONFIG": str(tmp_path)}) == tmp_path / "config.json"
    assert default_docker_config_path({}).parts[-2:] == (".docker", "config.json")


def test_kubernetes_pull_secret_is_a_dockerconfigjson_secret() -> None:
    manifest = yaml.safe_load(kubernetes_pull_secret("docr-pull", creds(), namespace="apps"))
    assert manifest["apiVersion"] == "v1"
    assert manifest["kind"] == "Secret"
    assert manifest["type"] == "kubernetes.io/dockerconfigjson"
    assert manifest["metadata"] == {"name": "docr-pull", "namespace": "apps"}
    decoded = json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))
    assert decoded == {"auths": {HOST: {"auth": AUTH}}}


def test_kubernetes_pull_secret_without_namespace() -> None:
    manifest = yaml.safe_load(kubernetes_pull_secret("a.b-c", creds()))
    assert manifest["metadata"] == {"name": "a.b-c"}


@pytest.mark.parametrize(
    "name", ["", "Upper", "under_score", "-leading", "trailing-", "a..b", "x" * 254, "sp ace", "é"]
)
def test_secret_names_must_be_dns_1123_subdomains(name: str) -> None:
    with pytest.raises(ValidationError):
        validate_dns_subdomain(name)
    with pytest.raises(ValidationError):
        kubernetes_pull_secret(name, creds())


@pytest.mark.parametrize("name", ["a", "docr-pull", "registry.example.com", "0abc", "x" * 253])
def test_valid_dns_1123_subdomains(name: str) -> None:
    assert validate_dns_subdomain(name) == name


@pytest.mark.parametrize("namespace", ["Default", "a.b", "x" * 64, "-x"])
def test_namespaces_must_be_dns_1123_labels(namespace: str) -> None:
    with pytest.raises(ValidationError):
        validate_dns_label(namespace)
    with pytest.raises(ValidationError):
        kubernetes_pull_secret("ok", creds(), namespace=namespace)


def test_the_secret_never_appears_in_repr() -> None:
    assert AUTH not in repr(creds())


def test_umask_does_not_widen_the_mode(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        merge_docker_config(tmp_path / "d" / "config.json", creds())
    finally:
        os.umask(old)
    assert mode(tmp_path / "d" / "config.json") == 0o600
