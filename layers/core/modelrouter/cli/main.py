"""Entry point of the ``modelrouter`` command.

Exit codes: 0 success, 1 the input was rejected (invalid policy, refused request), 2 usage error.
Errors are printed as one line (or one line per problem) on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from modelrouter.cli import keys_cmd, learn_cmd, local_cmd, push_cmd
from modelrouter.errors import ModelRouterError, NoEligibleModelError, PolicyError

__all__ = ["main"]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelrouter", description="LLM router: policy tools and local mode."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    policy = commands.add_parser("policy", help="validate, push a policy or print its JSON Schema")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    validate = policy_commands.add_parser("validate", help="check policy files; non-zero exit on any error")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    policy_commands.add_parser("schema", help="print the policy JSON Schema")
    policy_commands.add_parser("reference", help="print the policy reference (Markdown, from the schema)")
    push = policy_commands.add_parser(
        "push", help="validate a policy file and upload it to the policy bucket"
    )
    push_cmd.add_arguments(push)

    route = commands.add_parser("route", help="decide a route for a request without calling any model")
    route.add_argument("--policy", required=True, type=Path, help="policy file (YAML or JSON)")
    route.add_argument("--request", required=True, type=Path, help="chat request body (OpenAI JSON)")
    route.add_argument("--tenant", help="tenant id (default: the policy's first tenant)")
    route.add_argument("--request-id", help="request id (default: a new UUID); same id, same decision")
    route.add_argument("--explain", action="store_true", help="show features, left-out models and notes")
    route.add_argument("--json", action="store_true", help="print the decision as JSON")

    keys_cmd.add_parser(commands)
    learn_cmd.add_parser(commands)
    local_cmd.add_parsers(commands)
    return parser


def _validate(files: Sequence[Path]) -> int:
    from modelrouter.policy.artifacts import load_local_routers
    from modelrouter.policy.loader import load_policy_file

    status = EXIT_OK
    for file in files:
        try:
            loaded = load_policy_file(file)
            routers = load_local_routers(loaded.policy, file)
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
        for warning in loaded.warnings:
            print(f"  warning: {warning}")
    return status


def _schema() -> int:
    from modelrouter.policy.schema import policy_json_schema_text

    sys.stdout.write(policy_json_schema_text())
    return EXIT_OK


def _reference() -> int:
    from modelrouter.policy.reference import policy_reference_markdown
    from modelrouter.policy.schema import policy_json_schema

    sys.stdout.write(policy_reference_markdown(policy_json_schema()))
    return EXIT_OK


def _route(args: argparse.Namespace) -> int:
    from modelrouter.cli.render import render_decision, table
    from modelrouter.policy.artifacts import load_local_routers
    from modelrouter.policy.loader import load_policy_file
    from modelrouter.request import parse_chat_request
    from modelrouter.selection import RequestContext, decide

    loaded = load_policy_file(args.policy)
    routers = load_local_routers(loaded.policy, args.policy)
    try:
        body = args.request.read_bytes()
    except OSError as error:
        print(f"{args.request}: cannot read request: {error.strerror or error}", file=sys.stderr)
        return EXIT_REJECTED
    request = parse_chat_request(body)
    tenant = args.tenant or loaded.policy.tenants[0].id
    context = RequestContext.from_metadata(args.request_id or str(uuid.uuid4()), tenant, request.metadata)
    try:
        decision = decide(loaded.policy, request, context, policy_version=loaded.digest, routers=routers)
    except NoEligibleModelError as error:
        print(
            f"error: no_eligible_model: no model of route '{error.route}' may serve this request",
            file=sys.stderr,
        )
        rows = [(item.model, item.reason, item.detail) for item in error.exclusions]
        print(table(["model", "reason", "detail"], rows), file=sys.stderr)
        return EXIT_REJECTED
    if args.json:
        print(json.dumps(decision.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(render_decision(decision, explain=args.explain))
    return EXIT_OK


_LOCAL_COMMANDS = {"serve": local_cmd.run_serve, "invoke": local_cmd.run_invoke, "demo": local_cmd.run_demo}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "policy":
            if args.policy_command == "push":
                return push_cmd.run(args)
            if args.policy_command == "reference":
                return _reference()
            return _validate(args.files) if args.policy_command == "validate" else _schema()
        if args.command == "keys":
            return keys_cmd.run(args)
        if args.command == "learn":
            return learn_cmd.run(args)
        if args.command in _LOCAL_COMMANDS:
            return _LOCAL_COMMANDS[args.command](args)
        return _route(args)
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
