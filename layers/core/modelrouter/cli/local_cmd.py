"""``modelrouter serve``, ``invoke`` and ``demo``: the router on this machine, on embedded AWS.

Every failure is one line on stderr and a non-zero exit; Ctrl-C stops every server and simulated
container and releases every port. ``serve`` prints one line per request (``--quiet``: none) and writes
``.modelrouter/local.env`` for shells and other commands while it runs
(:mod:`modelrouter.local.local_env`).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["add_parsers", "run_demo", "run_invoke", "run_serve"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def add_parsers(commands: Any) -> None:
    """Register ``serve``, ``invoke`` and ``demo``."""
    serve = commands.add_parser("serve", help="run the whole router locally: embedded AWS, simulated models")
    _stack_arguments(serve)
    serve.add_argument("--port", type=int, default=8080, help="router API port (default 8080; 0: any free)")
    serve.add_argument(
        "--containers",
        type=_count,
        default=None,
        metavar="N",
        help="simulated Lambda containers (processes) per function (default 2-4, one per core; "
        "0: in this process, one request at a time)",
    )
    output = serve.add_mutually_exclusive_group()
    output.add_argument(
        "--verbose", action="store_true", help="handler logs and metrics (JSON) on stdout too"
    )
    output.add_argument("--quiet", action="store_true", help="no line per request")
    serve.add_argument(
        "--dev-keys",
        action="store_true",
        help="API keys derived from the tenant names: the same on every start, for scripts",
    )

    invoke = commands.add_parser("invoke", help="run one events/ file through its handler (sam local invoke)")
    invoke.add_argument(
        "event", type=Path, help="API Gateway REST API event (router proxy event or REQUEST authorizer event)"
    )
    _stack_arguments(invoke, models_port=0)

    demo = commands.add_parser("demo", help="scripted requests through the openai package, explained")
    demo.add_argument("--policy", type=Path, help="policy file (default policies/local.yaml)")
    demo.add_argument("--fast", action="store_true", help="no simulated model latency")


def _stack_arguments(parser: argparse.ArgumentParser, models_port: int = 8081) -> None:
    parser.add_argument("--policy", type=Path, help="policy file (default policies/local.yaml)")
    parser.add_argument(
        "--models-port",
        type=int,
        default=models_port,
        help=f"simulated model server port (default {models_port}; 0: any free)",
    )
    parser.add_argument("--aws-port", type=int, default=0, help="embedded AWS port (default 0: any free)")
    parser.add_argument(
        "--no-local-models",
        action="store_true",
        help="do not run the simulated models (the policy points at real endpoints)",
    )


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _options(args: argparse.Namespace, port: int | None, latency_scale: float = 1.0) -> Any:
    from modelrouter.local.stack import DEFAULT_CONTAINERS, StackOptions

    containers = getattr(args, "containers", None)
    return StackOptions(
        policy=args.policy,
        port=port,
        models_port=getattr(args, "models_port", 0),
        aws_port=getattr(args, "aws_port", 0),
        containers=DEFAULT_CONTAINERS if containers is None else containers,
        local_models=not getattr(args, "no_local_models", False),
        latency_scale=latency_scale,
        verbose=getattr(args, "verbose", False),
        dev_keys=getattr(args, "dev_keys", False),
        request_lines=None if port is None or getattr(args, "quiet", False) else sys.stdout,
    )


def run_serve(args: argparse.Namespace) -> int:
    """Start everything, write ``.modelrouter/local.env``, print how to call it, serve until Ctrl-C or
    SIGTERM, then remove the file."""
    from modelrouter.local.local_env import remove_local_env
    from modelrouter.local.stack import LocalStack

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    written: Path | None = None
    try:
        with LocalStack(_options(args, args.port)) as stack:
            written = _write_local_env(stack)
            print(_banner(stack, written), flush=True)
            stop.wait()
            print("\nstopping …", file=sys.stderr)
    finally:
        if written is not None:
            remove_local_env(written)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped; every port is released.", file=sys.stderr)
    return EXIT_OK


def _write_local_env(stack: Any) -> Path:
    """Write the stack's ``.modelrouter/local.env``; a file another ``serve`` left is replaced, and said."""
    from modelrouter.local.local_env import (
        LocalEnvError,
        local_env_path,
        local_env_values,
        read_local_env,
        serve_pid,
        write_local_env,
    )

    path = local_env_path()
    owner = serve_pid(path)
    if owner is not None:
        try:
            read_local_env(path)
            note = f"another modelrouter serve (pid {owner}) is running; {path} now describes this one"
        except LocalEnvError:
            note = f"replacing {path}, left by a modelrouter serve that was killed (pid {owner})"
        print(f"note: {note}", file=sys.stderr)
    values = local_env_values(
        aws_url=stack.aws.url,
        region=stack.environment["AWS_DEFAULT_REGION"],
        resources_env=stack.environment,
        api_url=stack.url,
    )
    return write_local_env(values, path)


def _banner(stack: Any, local_env: Path) -> str:
    from modelrouter.local.console import console_url

    assert stack.resources is not None
    tenant, key = next(iter(stack.api_keys.items()))
    shown_env = _relative(local_env)
    lines = [
        "modelrouter local mode: everything runs on this machine; nothing leaves it.",
        f"  router API    {stack.url}/v1      (OpenAI-compatible, streaming; API Gateway REST API stand-in)",
        f"  console       {console_url(stack.url)}   (recent requests and why, routing mix, spend, breakers)",
        f"  embedded AWS  {stack.aws.url}        (moto: S3, DynamoDB, Secrets Manager, CloudWatch Logs)",
    ]
    if stack.models is not None:
        lines.append(
            f"  local models  {stack.models.url}        (simulated: local-small, local-medium, local-large)"
        )
    containers = stack.containers()
    if any(containers.values()):
        described = ", ".join(
            f"{name} ×{len(each)} (pids {' '.join(str(c['pid']) for c in each)})"
            for name, each in containers.items()
        )
        lines.append(f"  containers    {described}")
    else:
        lines.append("  containers    none: the handlers run in this process, one request at a time")
    groups = [group for group in stack.resources.log_groups if group.startswith("/aws/lambda/")]
    lines.append(f"  logs          {', '.join(groups)} (embedded CloudWatch Logs)")
    lines += [
        f"  policy        {stack.policy_path} → s3://{stack.resources.bucket}/{stack.environment['POLICY_KEY']}"
        f" (version {stack.policy_version[:12]}, activated; `policy push --local` activates a new one)",
        "",
        _keys_heading(stack.options.dev_keys),
        *[f"  {name:<14} {token}" for name, token in stack.api_keys.items()],
        "Keys, budgets, provenance and logs live in the embedded AWS: they vanish when serve stops.",
        "",
        f"Shell: source {shown_env}   (written now, removed on Ctrl-C)",
        "  points aws (aws dynamodb scan --table-name $PROVENANCE_TABLE), boto3 and the openai and",
        "  anthropic packages (OPENAI_BASE_URL, ANTHROPIC_BASE_URL) at this stack; modelrouter keys,",
        "  usage and policy push read it themselves with --local (modelrouter keys list --local).",
        "",
        "Try:",
        f"  curl -s {stack.url}/v1/chat/completions -H 'Authorization: Bearer {key}' \\",
        '    -H \'Content-Type: application/json\' -d \'{"model": "auto", "messages": '
        '[{"role": "user", "content": "How do I reset my password?"}]}\'',
        f'  # or: OpenAI(base_url="{stack.url}/v1", api_key="<key of {tenant}>")',
        "",
        "Ctrl-C stops everything."
        + ("" if stack.request_lines is None else " One line per request follows (--quiet: none)."),
    ]
    return "\n".join(lines)


def _keys_heading(dev_keys: bool) -> str:
    if dev_keys:
        return "API keys (--dev-keys: derived from the tenant names, the same on every start; local only):"
    return "API keys (one per tenant, new on every start; --dev-keys gives ones that stay the same):"


def _relative(path: Path) -> Path:
    """``path`` relative to the current directory when it is under it (what people type)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def run_invoke(args: argparse.Namespace) -> int:
    """Run one API Gateway event through the router or authorizer handler and print the response (a
    streamed one read to its end)."""
    from modelrouter.local.invoke import EventFileError, invoke_event
    from modelrouter.local.stack import LocalStack

    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
    except OSError as error:
        print(f"error: cannot read {args.event}: {error.strerror or error}", file=sys.stderr)
        return EXIT_FAILED
    except json.JSONDecodeError as error:
        print(f"error: {args.event} is not JSON (line {error.lineno}: {error.msg})", file=sys.stderr)
        return EXIT_FAILED
    try:
        with LocalStack(_options(args, None, latency_scale=0.0)) as stack:
            response = invoke_event(stack, event, revoked_key="revoked" in args.event.stem)
    except EventFileError as error:
        print(f"error: {args.event}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    """The scripted demo (needs the ``openai`` package, installed by ``make demo``)."""
    try:
        import openai  # noqa: F401
    except ImportError:
        print(
            "error: the demo drives the router with the openai package: pip install openai", file=sys.stderr
        )
        return EXIT_FAILED
    from modelrouter.local.demo import run

    return run(args.policy, latency_scale=0.0 if args.fast else 1.0)
