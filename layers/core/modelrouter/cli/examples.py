"""The "examples:" section of every command's ``--help``: real commands on the files in this checkout.

One table for every command and subcommand, applied to the parser tree once it is built, so a command
defined in another module gets its examples too (a command that sets its own ``epilog`` keeps it). A
test parses every example with the real parser and checks that every file it names exists (or is
written by an earlier example of the same section).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

__all__ = ["EXAMPLES", "EXAMPLES_HEADING", "add_examples", "command_parsers"]

EXAMPLES_HEADING = "examples:"
"""The first line of every epilog."""

_POLICY = "policies/example.yaml"
_LOCAL_POLICY = "policies/local.yaml"
_ROUTER = "policies/routers/local-router.json"
_OUTCOMES = "benchmarks/out/data/local-outcomes.jsonl"
_TOPIC_EXAMPLES = "policies/topics/examples.jsonl"
_TOPIC_KEYWORDS = "policies/topics/keywords.yaml"

EXAMPLES: dict[tuple[str, ...], str] = {
    (): f"""\
  modelrouter policy validate {_POLICY}        # every problem of a policy, in one run
  modelrouter route --policy {_POLICY} --request events/requests/support-hard.json --explain
  modelrouter serve                                        # the whole router on this machine
  modelrouter keys list --local                            # keys of the running local stack
  modelrouter --version""",
    ("policy",): f"""\
  modelrouter policy validate {_POLICY} {_LOCAL_POLICY}
  modelrouter policy push {_POLICY} --bucket my-policy-bucket
  modelrouter policy schema > policy.schema.json""",
    ("policy", "validate"): f"""\
  modelrouter policy validate {_POLICY}
  modelrouter policy validate {_POLICY} {_LOCAL_POLICY}      # exit 1 if any file is invalid""",
    ("policy", "schema"): """\
  modelrouter policy schema > policy.schema.json            # for editors: yaml-language-server""",
    ("policy", "reference"): """\
  modelrouter policy reference > policy-reference.md""",
    ("policy", "evaluate"): f"""\
  modelrouter outcomes export --local --out logged.jsonl      # live traffic, with its propensities
  modelrouter policy evaluate --policy {_LOCAL_POLICY} --outcomes logged.jsonl --local
  modelrouter policy evaluate --policy {_LOCAL_POLICY} --outcomes logged.jsonl --router {_ROUTER} \\
      --json report.json --plot ope.png --confidence 0.9""",
    ("policy", "promote"): f"""\
  modelrouter outcomes export --local --route general --out logged.jsonl
  modelrouter policy promote general --outcomes logged.jsonl --policy {_POLICY} --dry-run
  modelrouter policy promote general --outcomes logged.jsonl --policy {_POLICY} --out promoted.yaml
  modelrouter policy promote general --outcomes logged.jsonl --bucket my-policy-bucket   # pushes it""",
    ("policy", "push"): f"""\
  modelrouter policy push {_LOCAL_POLICY} --local                  # to a running `modelrouter serve`
  modelrouter policy push {_POLICY} --bucket my-policy-bucket   # waits for the activator's verdict
  POLICY_BUCKET=my-policy-bucket modelrouter policy push {_POLICY} --key incoming/policy.yaml --no-wait
  modelrouter policy push {_LOCAL_POLICY} --local --upload-routers  # with its learned router""",
    ("route",): f"""\
  modelrouter route --policy {_POLICY} --request events/requests/support-hard.json --explain
  modelrouter route --policy {_POLICY} --request events/chat-support.json    # an API Gateway event
  modelrouter route --policy {_POLICY} --request events/requests/extract-invoice.json \\
      --tenant lexdoc-eu --request-id r1 --json""",
    ("keys",): """\
  modelrouter keys create --tenant acme-support --local
  modelrouter keys list --local
  modelrouter keys revoke abcdefgh2345 --table my-key-table""",
    ("keys", "create"): f"""\
  modelrouter keys create --tenant acme-support --local --description ci
  modelrouter keys create --tenant acme-support --table my-key-table --policy {_POLICY}
  API_KEY_TABLE=my-key-table POLICY_BUCKET=my-policy-bucket modelrouter keys create --tenant acme-support""",
    ("keys", "revoke"): """\
  modelrouter keys revoke abcdefgh2345 --local
  modelrouter keys revoke abcdefgh2345 --table my-key-table""",
    ("keys", "list"): """\
  modelrouter keys list --local
  modelrouter keys list --tenant acme-support --table my-key-table""",
    ("learn",): f"""\
  make local-router        # writes {_OUTCOMES} and {_ROUTER}
  modelrouter learn fit {_OUTCOMES} --out router.json
  modelrouter learn evaluate {_OUTCOMES} --cv 5
  modelrouter learn fit-topics {_TOPIC_EXAMPLES} --out topics.json""",
    ("learn", "fit"): f"""\
  make local-router        # writes {_OUTCOMES}
  modelrouter learn fit {_OUTCOMES} --out router.json
  modelrouter learn fit {_OUTCOMES} --out router.json --cv 10 --seed 1 --hash-bits 12""",
    ("learn", "score"): f"""\
  echo '{{"request_id": "r1", "prompt": "Prove that 17 is prime."}}' > requests.jsonl
  modelrouter learn score --router {_ROUTER} requests.jsonl""",
    ("learn", "evaluate"): f"""\
  make local-router        # writes {_OUTCOMES}
  modelrouter learn evaluate {_OUTCOMES} --cv 5 --plot curve.png
  modelrouter learn evaluate {_OUTCOMES} --router {_ROUTER} --json report.json""",
    ("learn", "fit-topics"): f"""\
  modelrouter learn fit-topics {_TOPIC_EXAMPLES} --keywords {_TOPIC_KEYWORDS} --out topics.json
  modelrouter learn fit-topics {_TOPIC_EXAMPLES} --out topics.json --json report.json --min-confidence 0.6
  make topics              # refits policies/routers/support-topics.json and repins it in the policies""",
    ("outcomes",): """\
  modelrouter outcomes export --local --out outcomes.jsonl      # every tenant of the running local stack
  modelrouter learn fit outcomes.jsonl --out router.json        # a router fitted on live traffic""",
    ("outcomes", "export"): """\
  modelrouter outcomes export --local --out outcomes.jsonl
  modelrouter outcomes export --local --tenant acme-support --route support-faq \\
      --since 2025-06-01 --until 2025-07-01 --out june.jsonl
  modelrouter outcomes export --table my-provenance-table --tenant acme-support --out acme.jsonl
  modelrouter outcomes export --export s3://my-exports/provenance/AWSDynamoDB/01700000000000-a1b2c3d4 \\
      --out all.jsonl                                # a DynamoDB export of the table, at scale""",
    ("serve",): f"""\
  modelrouter serve                                  # http://127.0.0.1:8080/api/v1
  modelrouter serve --port 9000 --containers 0       # handlers in this process
  modelrouter serve --policy {_LOCAL_POLICY} --verbose""",
    ("invoke",): """\
  modelrouter invoke events/chat-support.json
  modelrouter invoke events/authorizer/valid-key.json
  modelrouter invoke events/bad-temperature.json       # a 400, as API Gateway would return it""",
    ("demo",): f"""\
  modelrouter demo
  modelrouter demo --fast --policy {_LOCAL_POLICY}""",
}
"""Examples per command path (``()`` is ``modelrouter`` itself), two spaces in, one command a line."""


def command_parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """``parser`` and every (sub)command parser below it, with its command path."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from command_parsers(child, (*path, name))


def add_examples(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)command without an epilog its examples from :data:`EXAMPLES`."""
    for path, command in command_parsers(parser):
        examples = EXAMPLES.get(path)
        if examples is not None and command.epilog is None:
            command.epilog = f"{EXAMPLES_HEADING}\n{examples}"
            command.formatter_class = argparse.RawDescriptionHelpFormatter
