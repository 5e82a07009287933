"""The command line's help: examples in every command's --help that parse and name real files,
--version, and the full help for a command given without its subcommand."""

from __future__ import annotations

import argparse
import re
import shlex
from importlib.metadata import version
from pathlib import Path

import pytest
from tests.helpers import ROOT, run_cli

from modelrouter.cli.examples import EXAMPLES_HEADING, command_parsers
from modelrouter.cli.main import EXIT_OK, EXIT_USAGE, parser

OUTPUT_OPTIONS = frozenset({"out", "plot", "json"})
"""Options whose file a command writes rather than reads."""
REDIRECTS = frozenset({">", "|"})

COMMANDS = [path for path, _ in command_parsers(parser())]


def examples_of(command: argparse.ArgumentParser) -> list[str]:
    """The example lines of a command's help (continued lines joined)."""
    help_text = command.format_help()
    assert f"\n{EXAMPLES_HEADING}\n" in help_text, help_text
    section = help_text.split(f"\n{EXAMPLES_HEADING}\n", 1)[1]
    return [line.strip() for line in section.replace("\\\n", " ").splitlines() if line.strip()]


def input_files(namespace: argparse.Namespace) -> tuple[list[Path], list[Path]]:
    """The files a parsed command reads and those it writes (its Path-typed options)."""
    reads: list[Path] = []
    writes: list[Path] = []
    for dest, value in vars(namespace).items():
        values = value if isinstance(value, list) else [value]
        paths = [item for item in values if isinstance(item, Path)]
        (writes if dest in OUTPUT_OPTIONS else reads).extend(paths)
    return reads, writes


def parse_example(argv: list[str], capsys: pytest.CaptureFixture[str]) -> argparse.Namespace | None:
    """``argv`` parsed by the real parser; ``None`` for an option that prints and exits (--version)."""
    try:
        return parser().parse_args(argv)
    except SystemExit as exit_:
        code, message = exit_.code, capsys.readouterr().err
    assert code == EXIT_OK, f"modelrouter {shlex.join(argv)}: {message}"
    return None


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "modelrouter")
def test_every_command_has_examples_that_parse_and_name_real_files(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a command's --help
    command = dict(command_parsers(parser()))[path]
    written: set[str] = set()
    own_examples = 0
    # When each example line is read
    for line in examples_of(command):
        code, _, comment = line.partition(" # ")
        if "writes " in comment:  # e.g. `make local-router   # writes benchmarks/out/...`
            written.update(comment.split("writes ", 1)[1].replace(" and ", " ").split())
        words = shlex.split(code, comments=True)
        while words and "=" in words[0]:  # VAR=value before the command
            words.pop(0)
        if any(word in REDIRECTS for word in words):
            cut = min(words.index(word) for word in REDIRECTS if word in words)
            written.update(words[cut + 1 :])
            words = words[:cut]
        if not words or words[0] != "modelrouter":
            continue
        # Then a modelrouter example parses with the real parser ...
        namespace = parse_example(words[1:], capsys)
        own_examples += tuple(words[1 : 1 + len(path)]) == path
        if namespace is None:
            continue
        # ... and every file it reads exists, or an earlier example writes it
        reads, writes = input_files(namespace)
        for file in reads:
            assert (ROOT / file).exists() or str(file) in written, f"{line}: {file} does not exist"
        written.update(str(file) for file in writes)
    # And the section shows the command itself
    assert own_examples > 0, f"no example of 'modelrouter {' '.join(path)}'"


def test_version_names_the_package_and_policy_language(capsys: pytest.CaptureFixture[str]) -> None:
    # When --version is asked for
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["--version"])
    out = capsys.readouterr().out
    # Then the installed package version and the policy language version are printed, exit 0
    assert exit_.value.code == EXIT_OK
    assert out.strip() == f"modelrouter {version('modelrouter')} (policy language version 1)"


@pytest.mark.parametrize(
    ("argv", "subcommands"),
    [
        ([], ["policy", "route", "keys", "usage", "learn", "serve", "invoke", "demo"]),
        (["policy"], ["validate", "schema", "reference", "push"]),
        (["keys"], ["create", "revoke", "list"]),
        (["learn"], ["fit", "score", "evaluate"]),
    ],
)
def test_a_command_without_its_subcommand_prints_the_full_help(
    argv: list[str], subcommands: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # When a command is given without its subcommand
    code, out, err = run_cli(capsys, *argv)
    # Then its whole help is printed, each subcommand with its one-line description, and exit 2
    assert code == EXIT_USAGE
    assert out == ""
    assert err == dict(command_parsers(parser()))[tuple(argv)].format_help()
    for name in subcommands:
        # (the description follows the name, or is on the next line, further in, when the name is long)
        assert re.search(rf"^ +{name}(?: +\w|\n {{6,}}\w)", err, re.MULTILINE), name


def test_every_command_the_parser_accepts_has_a_runner() -> None:
    # Given the parser's commands and policy subcommands
    import argparse

    from modelrouter.cli import main as cli_main

    def names(command: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        actions = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        return dict(actions[0].choices) if actions else {}

    commands = names(cli_main.parser())
    # Then each has exactly one runner in main's tables (a command added without one would be a KeyError)
    assert set(commands) == set(cli_main._COMMANDS) | {"policy"}
    assert set(names(commands["policy"])) == set(cli_main._POLICY_COMMANDS)
