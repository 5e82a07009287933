"""Entry point of the ``modelrouter`` command.

Exit codes: 0 success, 1 the input was rejected (invalid policy, refused request), 2 usage error.
Errors are printed as one line (or one line per problem) on stderr, never as a traceback. A command
given without its subcommand (``modelrouter``, ``modelrouter keys``) prints its whole help (each
subcommand with its description, and examples) as a usage error; every ``--help`` ends with examples
(:mod:`modelrouter.cli.examples`); ``--version`` prints the package and policy language versions.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from modelrouter.cli import (
    audit_cmd,
    drift_cmd,
    keys_cmd,
    learn_cmd,
    local_cmd,
    outcomes_cmd,
    policy_diff_cmd,
    policy_eval_cmd,
    policy_history_cmd,
    push_cmd,
    route_cmd,
    usage_cmd,
)
from modelrouter.cli.examples import add_examples, command_parsers
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from modelrouter.errors import ModelRouterError, PolicyError

__all__ = ["EXIT_OK", "EXIT_REJECTED", "EXIT_USAGE", "main", "parser", "version_text"]

PACKAGE = "modelrouter"
"""The distribution whose version ``--version`` prints."""


def version_text() -> str:
    """``modelrouter 0.1.0 (policy language version 1)``: the installed package and the policy
    ``version`` it reads."""
    from importlib.metadata import PackageNotFoundError, version
    from typing import get_args

    from modelrouter.policy.document import Policy

    try:
        installed = version(PACKAGE)
    except PackageNotFoundError:  # run from a checkout that was never installed
        installed = "unknown (not installed)"
    languages = ", ".join(str(value) for value in get_args(Policy.model_fields["version"].annotation))
    return f"{PACKAGE} {installed} (policy language version {languages})"


class _VersionAction(argparse.Action):
    """``--version``: computed when asked for, so building the parser imports nothing."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(version_text())
        parser.exit()


def parser() -> argparse.ArgumentParser:
    """The whole command line: every command, its options and its examples."""
    root = argparse.ArgumentParser(
        prog="modelrouter", description="LLM router: policy tools, API keys, learned routing and local mode."
    )
    root.add_argument("--version", action=_VersionAction)
    commands = root.add_subparsers(dest="command", metavar="COMMAND")

    policy = commands.add_parser(
        "policy", help="validate, push a policy or print its JSON Schema; evaluate it on logged traffic"
    )
    policy_commands = policy.add_subparsers(dest="policy_command", metavar="ACTION")
    validate = policy_commands.add_parser(
        "validate", help="check policy files: every problem of each, in one run; exit 1 on any"
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    policy_commands.add_parser("schema", help="print the policy JSON Schema")
    policy_commands.add_parser("reference", help="print the policy reference (Markdown, from the schema)")
    push = policy_commands.add_parser(
        "push", help="validate a policy file, upload it under incoming/ and wait for its activation"
    )
    push_cmd.add_arguments(push)
    policy_eval_cmd.add_parsers(policy_commands)
    policy_diff_cmd.add_parser(policy_commands)
    policy_history_cmd.add_parsers(policy_commands)

    route_cmd.add_parser(commands)
    keys_cmd.add_parser(commands)
    usage_cmd.add_parser(commands)
    audit_cmd.add_parser(commands)
    outcomes_cmd.add_parser(commands)
    drift_cmd.add_parser(commands)
    learn_cmd.add_parser(commands)
    local_cmd.add_parsers(commands)
    add_examples(root)
    for _, command in command_parsers(root):
        for action in _subcommands(command):
            action.required = False  # a missing subcommand prints the help instead (see main)
    return root


def _subcommands(
    command: argparse.ArgumentParser,
) -> list[argparse._SubParsersAction[argparse.ArgumentParser]]:
    return [action for action in command._actions if isinstance(action, argparse._SubParsersAction)]


def _incomplete(command: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser | None:
    """The deepest parser whose subcommand was not given (``modelrouter policy``), else ``None``."""
    for action in _subcommands(command):
        chosen = getattr(args, action.dest, None)
        return command if chosen is None else _incomplete(action.choices[chosen], args)
    return None


def _validate(files: Sequence[Path]) -> int:
    from modelrouter.policy.artifacts import load_local_routers, load_local_topics
    from modelrouter.policy.loader import load_policy_file

    status = EXIT_OK
    for file in files:
        try:
            loaded = load_policy_file(file)
            routers = load_local_routers(loaded.policy, file)
            topics = load_local_topics(loaded.policy, file)
        except PolicyError as error:
            push_cmd.print_invalid(file, error)
            status = EXIT_REJECTED
            continue
        policy = loaded.policy
        print(
            f"{file}: ok ({len(policy.models)} models, {len(policy.tenants)} tenants, "
            f"{len(policy.routes)} routes; {loaded.digest[:19]}…)"
        )
        for ref, router in routers.items():
            print(f"  router {ref.key}: ok ({len(router.models)} models; {router.digest[:19]}…)")
            if ref.version_id is not None:
                print(
                    f"  warning: {ref.key} is pinned by S3 version id: the local file was checked, "
                    "not that version (policy push checks it in the bucket)"
                )
        if topics is not None and policy.topics is not None:
            labels = len(topics.labels)
            print(f"  topics {policy.topics.classifier}: ok ({labels} topics; {topics.digest[:19]}…)")
        for warning in loaded.warnings:
            print(f"  warning: {warning}")
    return status


def _schema() -> int:
    from modelrouter.policy.schema import policy_json_schema_text

    sys.stdout.write(policy_json_schema_text())
    return EXIT_OK


def _reference() -> int:
    from modelrouter.policy.reference_markdown import policy_reference_markdown
    from modelrouter.policy.schema import policy_json_schema

    sys.stdout.write(policy_reference_markdown(policy_json_schema()))
    return EXIT_OK


Command = Callable[[argparse.Namespace], int]
"""Runs one parsed command line; returns the exit code."""

_POLICY_COMMANDS: dict[str, Command] = {
    "validate": lambda args: _validate(args.files),
    "schema": lambda _: _schema(),
    "reference": lambda _: _reference(),
    "push": push_cmd.run,
    **dict.fromkeys(policy_history_cmd.COMMANDS, policy_history_cmd.run),
    "diff": policy_diff_cmd.run,
    "evaluate": policy_eval_cmd.run_evaluate,
    "promote": policy_eval_cmd.run_promote,
}
"""``modelrouter policy …``: each subcommand's runner."""
_COMMANDS: dict[str, Command] = {
    "route": route_cmd.run,
    "keys": keys_cmd.run,
    "usage": usage_cmd.run,
    "audit": audit_cmd.run,
    "outcomes": outcomes_cmd.run,
    "drift": drift_cmd.run,
    "learn": learn_cmd.run,
    "serve": local_cmd.run_serve,
    "invoke": local_cmd.run_invoke,
    "demo": local_cmd.run_demo,
}
"""Every other command's runner (the parser accepts no command outside these tables)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    command_line = parser()
    args = command_line.parse_args(argv)
    incomplete = _incomplete(command_line, args)
    if incomplete is not None:  # `modelrouter`, `modelrouter keys`: the help, as a usage error
        incomplete.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "policy":
            return _POLICY_COMMANDS[args.policy_command](args)
        return _COMMANDS[args.command](args)
    except PolicyError as error:
        if len(error.problems) == 1:
            print(f"error: {error.source}: {error.problems[0]}", file=sys.stderr)
        else:
            print(f"error: {error}", file=sys.stderr)
        return EXIT_REJECTED
    except ModelRouterError as error:
        field = getattr(error, "field", None)
        where = f" [{field}]" if field else ""
        print(f"error: {error.code}{where}: {error.message}", file=sys.stderr)
        return EXIT_REJECTED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into `head`: the reader is gone, nothing left to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
