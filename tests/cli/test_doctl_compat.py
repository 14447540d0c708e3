"""doctl compatibility and script-friendly output, through the real ``docr`` script in subprocesses.

doctl's spellings with doctl's argument order, global options after the subcommand, the token from
doctl's config file (a temporary HOME), ``--format``/``--no-header`` and piped text parsed, short
digests, messages in the CLI's terms, and the command lines of doctl's own registry reference.
"""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import COMMAND_TIMEOUT, DOCR, REGISTRY, Fake, Result, base_env

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Docr = Callable[..., Result]

DOC_REPO = "example-registry/example-repository"
# The digest of doctl's delete-manifest example: 63 hex digits in its documentation, so a prefix.
DOC_DIGEST = "sha256:a67c20e45178d90cbe686575719bd81f279b06842dc77521690e292c1eea685"


@pytest.fixture(autouse=True)
def _fresh(fake: Fake) -> None:
    fake.reset()


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """``docr ARGS`` exactly as given (no options prepended), stdin closed, output piped."""
    done = subprocess.run(
        [*DOCR, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=base_env(**(env or {})),
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    result = Result(done.returncode, done.stdout, done.stderr, list(args))
    assert "Traceback" not in result.stderr, str(result)
    return result


def rows(text: str) -> list[list[str]]:
    """Plain text output split into cells (columns are separated by 3+ spaces)."""
    return [re.split(r"\s{3,}", line.strip()) for line in text.splitlines() if line.strip()]


def fake_digests(docr: Docr, repository: str) -> set[str]:
    return {m["digest"] for m in docr("manifests", "list", repository, "-o", "json").json()}


def push(fake: Fake, repository: str, tag: str | None, digest: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"registry": REGISTRY, "repository": repository, "tag": tag}
    if digest is not None:
        body["digest"] = digest
    return dict(fake.control("POST", "/_fake/push", body)["manifest"])


def test_doctl_spellings_in_doctls_order_with_options_after_the_subcommand(fake: Fake) -> None:
    env = {"DIGITALOCEAN_TOKEN": fake.token}
    repos = run("repository", "list-v2", "--api-url", fake.url, "--format", "Name,TagCount", env=env)
    assert repos.code == 0, repos
    table = rows(repos.stdout)
    assert table[0] == ["Name", "TagCount"]
    names = {row[0]: int(row[1]) for row in table[1:]}
    assert names["api"] > 0
    # Global options after the subcommand, doctl's short spellings; the token given as -t.
    tags = run("repository", "list-tags", "api", "-u", fake.url, "-t", fake.token, "--no-header")
    assert tags.code == 0, tags
    assert fake.token not in tags.stdout + tags.stderr
    listed = rows(tags.stdout)
    assert len(listed) == names["api"]
    # Default columns: Tag, ManifestDigest (full), CompressedSizeBytes (bytes), UpdatedAt (ISO).
    expected = {m["tag"]: m for m in run("tags", "list", "api", "-u", fake.url, "-o", "json", env=env).json()}
    for tag, digest, size, updated in listed:
        assert digest == expected[tag]["manifest_digest"]
        assert int(size) == expected[tag]["compressed_size_bytes"]
        assert updated == expected[tag]["updated_at"]
    # doctl's aliases (lt, lm) and list-manifests.
    short = run("repository", "lt", "api", "--format", "Tag", "--no-header", "-u", fake.url, env=env)
    assert [row[0] for row in rows(short.stdout)] == [row[0] for row in listed]
    manifests = run("r", "lm", "api", "--format", "Digest", "--no-header", "-u", fake.url, env=env)
    assert {row[0] for row in rows(manifests.stdout)} == {
        m["digest"] for m in run("manifests", "list", "api", "-o", "json", "-u", fake.url, env=env).json()
    }
    # delete-tag REPOSITORY TAG... --force: doctl's order; the fake no longer has the tag.
    victim = listed[-1][0]
    deleted = run("repository", "delete-tag", "api", victim, "--force", "-u", fake.url, env=env)
    assert deleted.code == 0, deleted
    remaining = run("tags", "list", "api", "-o", "json", "-u", fake.url, env=env).json()
    assert victim not in {t["tag"] for t in remaining}
    assert len(remaining) == len(listed) - 1


def test_garbage_collection_alias_and_cancel_in_doctls_order(docr: Docr, fake: Fake) -> None:
    fake.control("PUT", "/_fake/gc", {"step_seconds": 3600})  # stays active until cancelled
    started = docr("garbage-collection", "start", "-o", "json", "--type", "unreferenced-blobs-only")
    assert started.code == 0, started
    uuid = started.json()["uuid"]
    active = docr("garbage-collection", "get-active", "--format", "UUID,Status", "--no-header")
    assert rows(active.stdout)[0][0] == uuid
    cancelled = docr("garbage-collection", "cancel", REGISTRY, uuid, "-o", "json")
    assert cancelled.code == 0, cancelled
    assert cancelled.json()["status"] in ("cancelling", "cancelled")
    listed = docr("garbage-collection", "list", "--format", "UUID,Status", "--no-header")
    assert uuid in {row[0] for row in rows(listed.stdout)}


def test_registry_is_optional_and_an_invalid_env_registry_spares_explicit_ones(fake: Fake) -> None:
    env = {"DIGITALOCEAN_TOKEN": fake.token}
    assert run("tags", "list", "api", "-u", fake.url, "--no-header", env=env).code == 0
    assert run("repos", "list", "-u", fake.url, "--no-header", env=env).code == 0
    bad = {**env, "DIGITALOCEAN_REGISTRY": "Not A Name!"}
    explicit = run("tags", "list", "api", "-r", REGISTRY, "-u", fake.url, "-o", "json", env=bad)
    assert explicit.code == 0, explicit
    assert explicit.json()
    pasted = run("tags", "list", f"registry.digitalocean.com/{REGISTRY}/api", "-u", fake.url, env=bad)
    assert pasted.code == 0, pasted
    implicit = run("tags", "list", "api", "-u", fake.url, env=bad)
    assert implicit.code == 2
    assert "$DIGITALOCEAN_REGISTRY 'Not A Name!'" in implicit.stderr
    good = run(
        "tags", "list", "api", "-u", fake.url, "-o", "json", env={**env, "DIGITALOCEAN_REGISTRY": REGISTRY}
    )
    assert good.json() == explicit.json()


def test_token_from_doctls_config_file_and_contexts(fake: Fake, tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / ".config" / "doctl" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f"access-token: dop_v1_{'0' * 64}\ncontext: work\nauth-contexts:\n  work: {fake.token}\n"
        f"  stale: dop_v1_{'1' * 64}\n"
    )
    env = {"HOME": str(home)}
    current = run("repository", "list-v2", "-u", fake.url, "--no-header", env=env)
    assert current.code == 0, current  # the current context's token
    assert fake.token not in current.stdout + current.stderr
    stale = run("repository", "list-v2", "-u", fake.url, "--context", "stale", env=env)
    assert stale.code == 3, stale
    default = run("--context", "default", "repository", "list-v2", "-u", fake.url, env=env)
    assert default.code == 3, default  # access-token is the 'default' context's
    missing = run("repository", "list-v2", "-u", fake.url, "--context", "nope", env=env)
    assert missing.code == 2
    assert "nope" in missing.stderr
    assert "default, stale, work" in missing.stderr
    # The environment comes first.
    env_first = run(
        "repository", "list-v2", "-u", fake.url, env={**env, "DIGITALOCEAN_TOKEN": "dop_v1_" + "2" * 64}
    )
    assert env_first.code == 3
    # No token anywhere: the message speaks CLI.
    nothing = run("repository", "list-v2", "-u", fake.url, env={"HOME": str(tmp_path / "empty")})
    assert nothing.code == 2
    for term in ("--access-token", "DIGITALOCEAN_TOKEN", "doctl auth init"):
        assert term in nothing.stderr
    assert "token=" not in nothing.stderr


def test_short_digests_resolve_or_list_the_candidates(docr: Docr, fake: Fake) -> None:
    one = push(fake, "short/one", "a")["digest"]
    twin_a = "sha256:" + "ab" * 6 + "0" * 52
    twin_b = "sha256:" + "ab" * 6 + "1" * 52
    push(fake, "short/one", "b", twin_a)
    push(fake, "short/one", "c", twin_b)
    before = fake_digests(docr, "short/one")
    # Unknown and ambiguous prefixes: nothing is deleted, the candidates are named.
    unknown = docr("manifests", "delete", "0" * 12, "--repo", "short/one", "--force")
    assert unknown.code == 4, unknown
    assert one[:19] in unknown.stderr  # the repository's manifests, as the tables show them
    ambiguous = docr("repository", "delete-manifest", "short/one", "ab" * 6, "--force")
    assert ambiguous.code == 2, ambiguous
    assert twin_a in ambiguous.stderr
    assert twin_b in ambiguous.stderr
    too_short = docr("repository", "delete-manifest", "short/one", one[:15], "--force")
    assert too_short.code == 2
    assert "12" in too_short.stderr
    assert fake_digests(docr, "short/one") == before
    # A unique prefix of 12 digits, with or without sha256:, as the tables show it.
    done = docr("repository", "delete-manifest", "short/one", one.removeprefix("sha256:")[:12], "--force")
    assert done.code == 0, done
    done = docr("manifests", "delete", twin_a[:40], "--repo", "short/one", "--force")
    assert done.code == 0, done
    assert fake_digests(docr, "short/one") == before - {one, twin_a}


def test_format_rejects_unknown_columns_before_any_request(docr: Docr, fake: Fake) -> None:
    fake.control("DELETE", "/_fake/requests")
    result = docr("tags", "list", "api", "--format", "Tag,Bogus")
    assert result.code == 2
    assert "Bogus" in result.stderr
    assert "ManifestDigest" in result.stderr
    assert fake.requests() == []


def test_registries_get_shows_the_tier_the_listing_shows(docr: Docr) -> None:
    listed = rows(docr("registries", "list", "--format", "Name,Tier", "--no-header").stdout)
    got = rows(docr("get", REGISTRY, "--format", "Name,Tier", "--no-header").stdout)
    assert got == [[REGISTRY, "professional"]]
    assert got[0] in listed
    assert docr("registries", "get", "-o", "json").json()["subscription"]["tier"]["slug"] == "professional"


def test_command_lines_from_doctls_registry_reference(docr: Docr, fake: Fake) -> None:
    """doctl's documented examples with ``doctl registry`` replaced by ``docr``, outputs parsed.

    doctl names the repository ``example-registry/example-repository`` (a repository of that name
    in the account's registry, as doctl sends it). Deletions add ``--force``: stdin is not a
    terminal here, and doctl would prompt too.
    """
    web = push(fake, DOC_REPO, "web")
    push(fake, DOC_REPO, "api", DOC_DIGEST + "0")
    lines = [
        f"repository list-tags {DOC_REPO} --format Tag,ManifestDigest",
        "repository list-v2",
        f"repository list-manifests {DOC_REPO}",
        f"repository delete-tag {DOC_REPO} web --force",
        f"repository delete-manifest {DOC_REPO} {DOC_DIGEST} --force",
        "garbage-collection list",
        "get",
    ]
    results = [docr(*line.split()) for line in lines]
    for line, result in zip(lines, results, strict=True):
        assert result.code == 0, f"{line}: {result}"
    tags = rows(results[0].stdout)
    assert tags[0] == ["Tag", "ManifestDigest"]
    assert ["web", web["digest"]] in tags[1:]
    assert ["api", DOC_DIGEST + "0"] in tags[1:]
    assert DOC_REPO in {row[0] for row in rows(results[1].stdout)[1:]}
    assert rows(results[2].stdout)[0][0] == "Digest"
    assert fake_digests(docr, DOC_REPO) == {web["digest"]}  # the manifest went with its tag "api"
    assert rows(results[6].stdout)[1][0] == REGISTRY


@pytest.mark.parametrize("fmt", ["text", "table"])
def test_piped_output_is_plain_text_in_both_formats(docr: Docr, fmt: str) -> None:
    result = docr("tags", "list", "api", "-o", fmt)
    assert result.code == 0
    assert not set("│┃━─╭") & set(result.stdout), "no box drawing when piped"
    table = rows(result.stdout)
    assert table[0] == ["Tag", "ManifestDigest", "CompressedSizeBytes", "UpdatedAt"]
    assert all(len(row) == 4 for row in table)


def test_several_registries_and_no_name_say_how_to_choose(docr: Docr) -> None:
    created = docr("registries", "create", "second-registry", "--region", "fra1", "-o", "json")
    assert created.code == 0, created
    result = docr("tags", "list", "api")
    assert result.code == 2, result
    assert "2 registries (example, second-registry)" in result.stderr
    assert "--registry" in result.stderr
    assert "$DIGITALOCEAN_REGISTRY" in result.stderr
    assert "registry=" not in result.stderr
    assert docr("tags", "list", "api", "-r", REGISTRY, "--no-header").code == 0
