"""``docr docker-config``: docker credentials, printed, merged into the docker config, or as a Secret."""

from __future__ import annotations

from pathlib import Path  # noqa: TC003 -- typer reads the annotations at runtime
from typing import Annotated

import typer

from ..cleanup.policy import parse_duration
from ..docker_config import (
    conflicting_credential_helpers,
    default_docker_config_path,
    kubernetes_pull_secret,
    merge_docker_config,
    validate_dns_label,
    validate_dns_subdomain,
)
from ..exceptions import ValidationError
from ._common import OutputOpt, RegistryNameArg, cli
from ._exit import ExitCode, describe_error

__all__ = ["docker_config"]


def docker_config(
    ctx: typer.Context,
    *,
    registry: RegistryNameArg = None,
    expiry: Annotated[
        str,
        typer.Option(
            "--expiry",
            "--expiry-seconds",
            help="Lifetime of the credentials (1h, 30d ...); 0 needs --never-expire.",
        ),
    ] = "1h",
    never_expire: Annotated[
        bool, typer.Option("--never-expire", help="With --expiry 0: credentials that never expire.")
    ] = False,
    read_write: Annotated[bool, typer.Option("--read-write", help="Push-capable credentials.")] = False,
    write: Annotated[
        bool, typer.Option("--write", help="Merge into the docker config instead of printing.")
    ] = False,
    config_path: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Docker config to write; implies --write "
            "(default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json).",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    k8s_secret: Annotated[
        str | None,
        typer.Option(
            "--k8s-secret",
            help="Print a kubernetes.io/dockerconfigjson Secret with this name.",
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace of the Secret.", show_default=False)
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Get docker credentials: print them, merge them into the docker config, or print a pull Secret.

    Credentials expire after one hour unless --expiry says otherwise; never-expiring credentials
    need both --expiry 0 and --never-expire. Each call mints a DigitalOcean API token.
    """
    c = cli(ctx, output, registry=registry)
    expiry_seconds = c.check(lambda: _expiry_seconds(expiry, never_expire))
    write = write or config_path is not None
    if write and k8s_secret is not None:
        c.fail("choose one of --write and --k8s-secret", ExitCode.USAGE)
    if namespace is not None and k8s_secret is None:
        c.fail("--namespace needs --k8s-secret", ExitCode.USAGE)
    if k8s_secret is not None:
        c.check(lambda: validate_dns_subdomain(k8s_secret, field="--k8s-secret"))
        if namespace is not None:
            c.check(lambda: validate_dns_label(namespace, field="--namespace"))
    creds = c.run(
        lambda client: client.registries.docker_credentials(
            registry, expiry_seconds=expiry_seconds, read_write=read_write
        )
    )
    lifetime = "never expire" if expiry_seconds == 0 else f"expire in {expiry}"
    if k8s_secret is not None:
        c.out.emit_text(kubernetes_pull_secret(k8s_secret, creds, namespace))
        c.out.info(
            f"Secret {k8s_secret}: {'read-write' if read_write else 'read-only'}, credentials {lifetime}"
        )
        return
    if not write:
        c.out.emit_text(creds.to_json())
        return
    path = config_path if config_path is not None else default_docker_config_path()
    try:
        merge_docker_config(path, creds)
    except OSError as exc:
        c.fail(f"cannot write {path}: {exc.strerror or exc}", ExitCode.FAILED)
    except ValidationError as exc:
        c.fail(describe_error(exc), ExitCode.USAGE)
    hosts = sorted(creds.auths)
    for note in conflicting_credential_helpers(path, hosts):
        c.out.warn(f"{path}: {note}")
    if c.out.json:
        c.out.emit_json(
            {"path": str(path), "hosts": hosts, "read_write": read_write, "expiry_seconds": expiry_seconds}
        )
    else:
        c.out.info(
            f"wrote {'read-write' if read_write else 'read-only'} credentials for {', '.join(hosts)} "
            f"to {path} (they {lifetime})",
            style="green",
        )


def _expiry_seconds(expiry: str, never_expire: bool) -> int:
    text = expiry.strip()
    seconds = float(text) if text.isdigit() else parse_duration(text, field="--expiry").total_seconds()
    if seconds == 0:
        if not never_expire:
            raise ValidationError(
                "--expiry", expiry, "0 means credentials that never expire: add --never-expire to confirm"
            )
        return 0
    if never_expire:
        raise ValidationError("--never-expire", True, "needs --expiry 0")
    return max(1, int(-(-seconds // 1)))
