"""docs/cli.md's "Coming from doctl" table against the real command tree, and help at 80 columns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
import typer.main
from typer.testing import CliRunner

from docr_async.cli.app import app

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def _tree() -> Any:
    group = typer.main.get_command(app)
    assert _is_group(group)
    return group


def _resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The command a ``docr`` line names, and the words after it (arguments and options)."""
    command = _tree()
    ctx = typer.Context(command)
    rest = list(words)
    while _is_group(command) and rest and rest[0] in command.list_commands(ctx):
        found = command.get_command(ctx, rest.pop(0))
        assert found is not None
        command = found
    return command, rest


def _table() -> list[tuple[str, str, str]]:
    text = CLI_MD.read_text(encoding="utf-8")
    section = text[text.index("## Coming from doctl") :]
    section = section[: section.index("\n## ", 3)]
    rows = []
    for line in section.splitlines():
        cells = re.findall(r"`([^`]+)`", line)
        if line.startswith("| `doctl registry") and len(cells) == 3:
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def _words(line: str) -> list[str]:
    return [w for w in line.split() if w not in ("...",)]


def _option_names(command: Any) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names


def test_every_row_names_real_commands_with_doctls_words_and_flags() -> None:
    rows = _table()
    assert len(rows) >= 12
    root_options = _option_names(_tree())
    for doctl, spelled, native in rows:
        doctl_words = _words(doctl)[2:]  # without "doctl registry"
        spelled_words = _words(spelled)[1:]
        # doctl's spelling is doctl's line with "doctl registry" replaced by "docr" ...
        if doctl_words[0] != "options":
            assert spelled_words == doctl_words, (doctl, spelled)
        for line in (spelled, native):
            command, rest = _resolve(_words(line)[1:])
            assert not _is_group(command), f"{line}: names a group, not a command"
            # ... and every flag it shows is one the command (or the root) takes.
            for word in rest:
                if word.startswith("-"):
                    assert word in _option_names(command) | root_options, f"{line}: {word}"
            positional = [p for p in command.params if p.param_type_name == "argument"]
            shown = [w for w in rest if w.startswith(("<", "[<"))]
            assert len(shown) <= sum(99 if p.nargs == -1 else 1 for p in positional), line


def test_every_doctl_spelling_in_the_tree_is_in_the_table() -> None:
    documented = {tuple(_words(spelled)[1:3]) for _, spelled, _ in _table()}
    ctx = typer.Context(_tree())
    for group_name in ("repository", "garbage-collection"):
        group = _tree().get_command(ctx, group_name)
        assert _is_group(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            if command.hidden or (group_name == "garbage-collection" and name in ("get", "wait")):
                continue  # aliases; docr's own additions
            if group_name == "repository" and name == "list":
                continue
            assert (group_name, name) in documented, f"docr {group_name} {name} is not in the table"


def _all_commands() -> list[list[str]]:
    out: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        if _is_group(command):
            ctx = typer.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                if not sub.hidden:
                    walk(sub, [*path, name])
        else:
            out.append(path)

    walk(_tree(), [])
    return out


def test_help_is_readable_at_80_columns() -> None:
    runner = CliRunner()
    commands = _all_commands()
    assert ["repository", "list-tags"] in commands
    for command in [[], *commands]:
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
        assert result.exit_code == 0, (command, result.output)
        assert "…" not in result.output, (command, result.output)
        assert "<bool>" not in result.output, (command, result.output)
        for line in result.output.splitlines():
            assert len(line) <= 80, (command, line)
