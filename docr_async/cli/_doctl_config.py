"""The API token from doctl's config file, so that a doctl user need not set it again.

doctl keeps ``access-token`` (the ``default`` context), ``auth-contexts`` (other contexts by name)
and ``context`` (the current one) in ``$XDG_CONFIG_HOME/doctl/config.yaml`` (by default
``~/.config/doctl/config.yaml``). ``docr`` reads it only when neither ``--access-token`` nor
``$DIGITALOCEAN_TOKEN``/``$DIGITALOCEAN_ACCESS_TOKEN`` gives a token.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["DoctlConfigError", "default_config_path", "doctl_token"]

DEFAULT_CONTEXT = "default"


class DoctlConfigError(Exception):
    """doctl's config file is unreadable, or names no such context (the message says which)."""


def default_config_path() -> Path:
    """Where doctl keeps its config: ``$XDG_CONFIG_HOME/doctl/config.yaml``, else ``~/.config/...``."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".config"
    return root / "doctl" / "config.yaml"


def doctl_token(path: Path | None = None, context: str | None = None) -> str | None:
    """The token of ``context`` (default: the file's current context) in doctl's config file.

    Returns ``None`` when there is no config file (and no context was asked for), or the context
    has no token.

    Raises:
        DoctlConfigError: If the file cannot be read or parsed, or ``context`` is not in it.
    """
    config_path = path if path is not None else default_config_path()
    if not config_path.is_file():
        if context not in (None, DEFAULT_CONTEXT) or path is not None:
            raise DoctlConfigError(f"--context {context}: no doctl config file at {config_path}")
        return None
    data = _load(config_path)
    chosen = context or _text(data.get("context")) or DEFAULT_CONTEXT
    if chosen == DEFAULT_CONTEXT:
        return _text(data.get("access-token"))
    contexts = data.get("auth-contexts")
    if not isinstance(contexts, dict) or chosen not in contexts:
        known = sorted(str(k) for k in contexts) if isinstance(contexts, dict) else []
        names = ", ".join([DEFAULT_CONTEXT, *known])
        raise DoctlConfigError(f"--context {chosen}: not in {config_path} (contexts: {names})")
    return _text(contexts[chosen])


def _load(path: Path) -> dict[str, Any]:
    try:
        import yaml  # noqa: PLC0415 -- only when the file exists

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except ImportError:
        raise DoctlConfigError("reading doctl's config needs pyyaml: pip install 'docr-async[cli]'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DoctlConfigError(f"cannot read doctl config {path}: {exc.__class__.__name__}") from None
    except yaml.YAMLError:
        raise DoctlConfigError(f"doctl config {path} is not valid YAML") from None
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
