"""Write DOCR docker credentials where docker and Kubernetes look for them. No CLI dependencies.

- :func:`merge_docker_config` merges the ``auths`` entries into ``~/.docker/config.json``, keeping
  every other key and host, and writes the file atomically with mode ``0600``.
- :func:`kubernetes_pull_secret` renders a ``kubernetes.io/dockerconfigjson`` Secret manifest.

Neither function logs or prints: the credentials are secrets.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .models import DockerCredentials

__all__ = [
    "conflicting_credential_helpers",
    "default_docker_config_path",
    "kubernetes_pull_secret",
    "merge_docker_config",
    "validate_dns_label",
    "validate_dns_subdomain",
]

_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_RE = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_DNS_LABEL_RE = re.compile(_DNS_LABEL)
_FILE_MODE = 0o600
_DIR_MODE = 0o700


def _check_dns_name(name: object, field: str, pattern: re.Pattern[str], max_len: int, rule: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValidationError(field, name, "must be a non-empty string")
    if len(name) > max_len or not pattern.fullmatch(name):
        raise ValidationError(
            field,
            name,
            f"must be a {rule}, starting and ending with a letter or digit, at most {max_len} characters",
        )
    return name


def validate_dns_subdomain(name: object, *, field: str = "name") -> str:
    """Check a Kubernetes object name (RFC 1123 subdomain: ``[a-z0-9.-]``, at most 253 characters).

    Raises:
        ValidationError: If it is not one.
    """
    rule = "DNS-1123 subdomain: lowercase letters, digits, '-' and '.'"
    return _check_dns_name(name, field, _DNS_SUBDOMAIN_RE, 253, rule)


def validate_dns_label(name: object, *, field: str = "namespace") -> str:
    """Check a Kubernetes namespace (RFC 1123 label: ``[a-z0-9-]``, at most 63 characters).

    Raises:
        ValidationError: If it is not one.
    """
    return _check_dns_name(
        name, field, _DNS_LABEL_RE, 63, "DNS-1123 label: lowercase letters, digits and '-'"
    )


def default_docker_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where docker reads its config: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    env = os.environ if environ is None else environ
    directory = env.get("DOCKER_CONFIG")
    base = Path(directory).expanduser() if directory else Path.home() / ".docker"
    return base / "config.json"


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValidationError(
            "docker config", str(path), f"is not valid JSON ({exc}); not touching it"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError("docker config", str(path), "is not a JSON object; not touching it")
    return data


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file (mode 0600) beside ``path``, then ``os.replace`` it."""
    path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), _FILE_MODE)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def merge_docker_config(path: Path, credentials: DockerCredentials) -> None:
    """Merge the credentials' ``auths`` entries into the docker config at ``path``.

    Every other top-level key (``credsStore``, ``credHelpers``, ``proxies`` ...) and every other
    host under ``auths`` is kept; the entry of each host in ``credentials`` is replaced. A missing
    file (and directory, mode 0700) is created. The file is written atomically (a temporary file
    in the same directory, then ``os.replace``) with mode 0600. A symlinked config is followed.

    Raises:
        ValidationError: If the existing file is not a JSON object (it is left untouched).
        OSError: If the file cannot be read or written.
    """
    target = Path(os.path.realpath(Path(path).expanduser()))
    config = _read_config(target)
    auths = config.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    for host, entry in credentials.auths.items():
        auths[host] = dict(entry)
    config["auths"] = auths
    _write_atomically(target, json.dumps(config, indent=2) + "\n")


def conflicting_credential_helpers(path: Path, hosts: Iterable[str]) -> list[str]:
    """Describe settings in the docker config that make docker ignore ``auths`` for ``hosts``.

    A ``credHelpers`` entry for the host, or a global ``credsStore``, takes precedence over the
    plain ``auths`` entry. Returns human-readable notes (empty when there is no conflict).
    """
    try:
        config = _read_config(Path(path).expanduser())
    except (ValidationError, OSError):
        return []
    notes: list[str] = []
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict):
        notes.extend(
            f"credHelpers[{host!r}] = {helpers[host]!r} takes precedence over auths"
            for host in hosts
            if host in helpers
        )
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        notes.append(f"credsStore = {store!r} may take precedence over auths")
    return notes


def kubernetes_pull_secret(name: str, credentials: DockerCredentials, namespace: str | None = None) -> str:
    """A YAML manifest of a ``kubernetes.io/dockerconfigjson`` Secret holding ``credentials``.

    Apply it with ``kubectl apply -f -`` and reference it from ``imagePullSecrets``.

    Args:
        name: The Secret's name (a DNS-1123 subdomain).
        credentials: The docker credentials.
        namespace: The namespace (a DNS-1123 label); omitted from the manifest when ``None``.

    Raises:
        ValidationError: If ``name`` or ``namespace`` is not a valid Kubernetes name.
    """
    name = validate_dns_subdomain(name)
    if namespace is not None:
        namespace = validate_dns_label(namespace)
    document = json.dumps(credentials.to_dict(), separators=(",", ":"), sort_keys=True)
    encoded = base64.b64encode(document.encode()).decode()
    lines = [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        f"  name: {name}",
    ]
    if namespace is not None:
        lines.append(f"  namespace: {namespace}")
    lines += [
        "type: kubernetes.io/dockerconfigjson",
        "data:",
        f'  .dockerconfigjson: "{encoded}"',
    ]
    return "\n".join(lines) + "\n"
