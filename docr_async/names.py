"""Validation and encoding of registry, repository, tag and digest names.

Everything a user passes in is checked here, before any request is sent, and raises
:class:`~docr_async.exceptions.ValidationError` with the reason. Repository names are percent-encoded
as ONE path segment (``my/app`` -> ``my%2Fapp``) exactly once, as the API requires.

Users paste image references, so resource methods also accept a repository given as
``registry.digitalocean.com/<registry>/<repository>``; :class:`ImageRef` parses the full form
``registry.digitalocean.com/example/my/app:v1@sha256:...``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import attrs

from .exceptions import ValidationError

__all__ = [
    "REGISTRY_HOST",
    "ImageRef",
    "encode_repository",
    "resolve_repository",
    "validate_digest",
    "validate_new_registry_name",
    "validate_registry_name",
    "validate_repository_name",
    "validate_tag",
]

REGISTRY_HOST = "registry.digitalocean.com"
"""The host part of every DOCR image reference."""

_REGISTRY_RE = re.compile(r"[a-z0-9-]{1,63}")
_NEW_REGISTRY_RE = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Docker distribution's path-component grammar (lowercase alphanumerics joined by separators).
_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})")
_MAX_REPOSITORY_LEN = 255
_FIXED_ROUTES = frozenset({"options", "subscription", "validate-name"})

_MEMO_SIZE = 1024
_VALID_REGISTRIES: set[str] = set()
"""Registry names that passed :func:`validate_registry_name` (checking is a pure function of the name)."""
_VALID_REPOSITORIES: set[str] = set()
"""Repository names that passed :func:`validate_repository_name`."""
_ENCODED: dict[str, str] = {}
"""Memoised :func:`encode_repository` results."""


def _remember(memo: set[str], value: str) -> str:
    """Add a name that passed its check to ``memo`` (emptied when full) and return it."""
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo.add(value)
    return value


def _check_str(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, value, f"expected a string, got {type(value).__name__}")
    if not value:
        raise ValidationError(field, value, "must not be empty")
    if value.isascii() and value.isprintable() and " " not in value:
        return value  # the common case, checked in C: no whitespace, no control characters, ASCII
    if value != value.strip() or any(ch.isspace() for ch in value):
        raise ValidationError(field, value, "must not contain whitespace")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValidationError(field, value, "must not contain control characters")
    if not value.isascii():
        raise ValidationError(field, value, "must be ASCII")
    return value


def validate_registry_name(name: object) -> str:
    """Check the name of an existing registry (``^[a-z0-9-]{1,63}$``, the spec's pattern).

    Raises:
        ValidationError: If the name cannot be a DOCR registry name.
    """
    if type(name) is str and name in _VALID_REGISTRIES:  # a listing loop passes the same names
        return name
    value = _check_str("registry", name)
    if len(value) > 63:
        raise ValidationError("registry", name, "must be at most 63 characters")
    if not _REGISTRY_RE.fullmatch(value):
        raise ValidationError("registry", name, "may contain only lowercase letters, digits and '-'")
    if value in _FIXED_ROUTES:
        raise ValidationError("registry", name, "collides with a fixed API route and cannot be addressed")
    return _remember(_VALID_REGISTRIES, value) if type(value) is str else value


def validate_new_registry_name(name: object) -> str:
    """Check a name for a registry to create: the spec's pattern plus DO's documented rules.

    A new name must also begin with a letter and end with a letter or digit.

    Raises:
        ValidationError: If DigitalOcean would refuse the name.
    """
    value = validate_registry_name(name)
    if not _NEW_REGISTRY_RE.fullmatch(value):
        raise ValidationError("registry", name, "must begin with a letter and end with a letter or digit")
    return value


def validate_repository_name(name: object) -> str:
    """Check a repository name (the path inside the registry; may contain ``/``).

    Raises:
        ValidationError: If the name is empty, too long, pre-encoded, has ``..`` or empty
            components, uppercase letters or other characters Docker does not allow.
    """
    if type(name) is str and name in _VALID_REPOSITORIES:
        return name
    value = _check_str("repository", name)
    if "%" in value:
        raise ValidationError("repository", name, "pass the plain name ('my/app'), not a percent-encoded one")
    if len(value) > _MAX_REPOSITORY_LEN:
        raise ValidationError("repository", name, f"must be at most {_MAX_REPOSITORY_LEN} characters")
    if value.startswith(REGISTRY_HOST + "/"):
        raise ValidationError(
            "repository", name, "includes the registry host; pass the repository path inside the registry"
        )
    for component in value.split("/"):
        if not component:
            raise ValidationError(
                "repository", name, "must not have empty path components ('//', leading or trailing '/')"
            )
        if component in {".", ".."}:
            raise ValidationError("repository", name, "must not contain '.' or '..' path components")
        if not _COMPONENT_RE.fullmatch(component):
            raise ValidationError(
                "repository",
                name,
                f"component {component!r} must be lowercase letters and digits "
                "separated by '.', '_', '__' or '-'",
            )
    return _remember(_VALID_REPOSITORIES, value) if type(value) is str else value


def validate_tag(tag: object) -> str:
    """Check a tag against Docker's grammar (``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``).

    Raises:
        ValidationError: If the tag is invalid (for example it contains ``/`` or ``:``).
    """
    value = _check_str("tag", tag)
    if not _TAG_RE.fullmatch(value):
        raise ValidationError(
            "tag", tag, "must be 1-128 of [A-Za-z0-9_.-] and must not start with '.' or '-'"
        )
    return value


def validate_digest(digest: object) -> str:
    """Check a manifest digest (``sha256:`` + 64 lowercase hex, or ``sha512:`` + 128).

    Raises:
        ValidationError: If the digest is malformed.
    """
    value = _check_str("digest", digest)
    if not _DIGEST_RE.fullmatch(value):
        raise ValidationError("digest", digest, "must be 'sha256:' followed by 64 lowercase hex digits")
    return value


def encode_repository(name: str) -> str:
    """Percent-encode a (validated) repository name as a single path segment: ``/`` -> ``%2F``."""
    encoded = _ENCODED.get(name)
    if encoded is None:
        if len(_ENCODED) >= _MEMO_SIZE:
            _ENCODED.clear()
        encoded = _ENCODED[name] = quote(name, safe="")
    return encoded


def resolve_repository(repository: str, registry: str | None) -> tuple[str, str]:
    """Return ``(registry, repository)`` from what a user passed, validated.

    Accepts a plain repository with ``registry=...``, or a pasted reference
    ``registry.digitalocean.com/<registry>/<repository>`` (``registry`` then optional, and checked
    against the reference when given). Tags or digests in the reference are refused here.

    Raises:
        ValidationError: If either name is invalid, the registry is missing, or they disagree.
    """
    if isinstance(repository, str) and repository.startswith(REGISTRY_HOST + "/"):
        ref = ImageRef.parse(repository)
        if ref.tag is not None or ref.digest is not None:
            raise ValidationError("repository", repository, "must not include a tag or digest here")
        if registry is not None and validate_registry_name(registry) != ref.registry:
            raise ValidationError(
                "registry", registry, f"does not match the reference's registry {ref.registry!r}"
            )
        return ref.registry, ref.repository
    if registry is None:
        raise ValidationError(
            "registry", registry, "is required (or pass registry.digitalocean.com/<registry>/<repo>)"
        )
    return validate_registry_name(registry), validate_repository_name(repository)


@attrs.frozen(kw_only=True)
class ImageRef:
    """A parsed DOCR image reference.

    Attributes:
        registry: The registry name (``example``).
        repository: The repository inside it (``my/app``).
        tag: The tag, if the reference had one.
        digest: The manifest digest, if the reference had one.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        """Parse ``[registry.digitalocean.com/]<registry>/<repository>[:tag][@digest]``.

        Raises:
            ValidationError: If any part is invalid.
        """
        text = _check_str("image reference", ref)
        if text.startswith(REGISTRY_HOST + "/"):
            text = text[len(REGISTRY_HOST) + 1 :]
        elif text.split("/", 1)[0].count(".") or ":" in text.split("/", 1)[0]:
            raise ValidationError("image reference", ref, f"is not a {REGISTRY_HOST} reference")
        digest: str | None = None
        if "@" in text:
            text, digest = text.split("@", 1)
            digest = validate_digest(digest)
        tag: str | None = None
        last_slash = text.rfind("/")
        colon = text.rfind(":")
        if colon > last_slash:
            text, tag = text[:colon], validate_tag(text[colon + 1 :])
        registry, _, repository = text.partition("/")
        if not repository:
            raise ValidationError("image reference", ref, "needs <registry>/<repository>")
        return cls(
            registry=validate_registry_name(registry),
            repository=validate_repository_name(repository),
            tag=tag,
            digest=digest,
        )

    def __str__(self) -> str:
        text = f"{REGISTRY_HOST}/{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text
