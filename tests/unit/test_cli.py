"""The modelrouter command line: exit codes, output, and one-line errors without tracebacks."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from tests.helpers import EVENTS, EXAMPLE_POLICY, load_event, run_cli

from modelrouter.cli.main import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, main
from modelrouter.local.local_env import LOCAL_ENV_OVERRIDE, NOT_RUNNING
from modelrouter.policy.schema import policy_json_schema_text

REQUESTS = EVENTS / "requests"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, *argv)


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the example policy, When validated, Then exit 0 and a summary line
    code, out, _ = run(capsys, "policy", "validate", str(EXAMPLE_POLICY))
    assert code == EXIT_OK
    assert "ok (15 models, 6 tenants, 19 routes" in out


def test_validate_reports_every_problem_and_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Given one good and one broken policy file
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        EXAMPLE_POLICY.read_text().replace(
            "models: [nova-lite, gpt-4o-mini,", "models: [nova-lyte, gpt-4o-mini,"
        )
    )
    # When both are validated
    code, out, err = run(capsys, "policy", "validate", str(EXAMPLE_POLICY), str(broken))
    # Then the exit code is non-zero and the problem names path and line
    assert code == EXIT_REJECTED
    assert "ok" in out
    assert "routes[7].models[0] (line " in err
    assert "unknown model 'nova-lyte'" in err


def test_validate_missing_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "policy", "validate", str(tmp_path / "nope.yaml"))
    assert code == EXIT_REJECTED
    assert "cannot read policy file" in err


def test_schema_prints_the_checked_in_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "schema")
    assert code == EXIT_OK
    assert out == policy_json_schema_text()


def test_route_table_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a hard support request for acme-support
    args = ["route", "--policy", str(EXAMPLE_POLICY), "--request", str(REQUESTS / "support-hard.json")]
    # When routed with --explain
    code, out, _ = run(capsys, *args, "--tenant", "acme-support", "--request-id", "r1", "--explain")
    # Then the table shows the route, the tier, candidates, features and what was left out
    assert code == EXIT_OK
    assert "route:          support-triage" in out
    assert "tier hard" in out
    assert "candidates (in order):" in out
    assert "features:" in out
    assert "not_in_selected_tier" in out


def test_route_json_is_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["route", "--policy", str(EXAMPLE_POLICY), "--request", str(REQUESTS / "extract-invoice.json")]
    code, out, _ = run(capsys, *args, "--tenant", "lexdoc-eu", "--request-id", "r1", "--json")
    decision = json.loads(out)
    assert code == EXIT_OK
    assert decision["route"] == "document-extraction"
    assert [c["model"] for c in decision["candidates"]] == ["claude-sonnet-bedrock-eu"]
    assert decision["policy_version"].startswith("sha256:")


def test_same_request_id_same_output(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["route", "--policy", str(EXAMPLE_POLICY), "--request", str(REQUESTS / "support-easy.json")]
    _, first, _ = run(capsys, *args, "--request-id", "same", "--json")
    _, second, _ = run(capsys, *args, "--request-id", "same", "--json")
    assert first == second


@pytest.mark.parametrize(
    ("content", "tenant", "expected"),
    [
        ("{not json", "acme-support", "error: invalid_request: <root>: request body is not valid JSON"),
        (
            '{"messages": []}',
            "acme-support",
            "error: invalid_request [messages]: messages: must not be empty",
        ),
        (
            '{"messages": [{"role": "robot", "content": "x"}]}',
            "acme-support",
            "error: invalid_request [messages[0]]",
        ),
        ('{"messages": [{"role": "user", "content": "x"}]}', "ghost", "error: unknown_tenant"),
        (
            '{"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}',
            "acme-support",
            "error: model_not_found [model]",
        ),
    ],
)
def test_route_bad_input_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, tenant: str, expected: str
) -> None:
    request = tmp_path / "request.json"
    request.write_text(content)
    code, _, err = run(
        capsys, "route", "--policy", str(EXAMPLE_POLICY), "--request", str(request), "--tenant", tenant
    )
    assert code == EXIT_REJECTED
    assert err.startswith(expected), err
    assert len(err.strip().splitlines()) == 1


def test_route_no_eligible_model_lists_reasons(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Given an EU tenant asking for a 60,000-token answer, more than any EU model it may use can write
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps({"messages": [{"role": "user", "content": "hola, ¿qué tal?"}], "max_tokens": 60000})
    )
    code, _, err = run(
        capsys, "route", "--policy", str(EXAMPLE_POLICY), "--request", str(request), "--tenant", "lexdoc-eu"
    )
    assert code == EXIT_REJECTED
    assert "no_eligible_model" in err
    assert "max_output_too_small" in err


def test_missing_request_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["route", "--policy", str(EXAMPLE_POLICY), "--request", str(tmp_path / "none.json")]
    code, _, err = run(capsys, *args)
    assert code == EXIT_REJECTED
    assert "cannot read request" in err


def test_missing_policy_file_for_route(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = [
        "route",
        "--policy",
        str(tmp_path / "none.yaml"),
        "--request",
        str(REQUESTS / "support-easy.json"),
    ]
    code, _, err = run(capsys, *args)
    assert code == EXIT_REJECTED
    assert len(err.strip().splitlines()) == 1
    assert "cannot read policy file" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["route", "--policy"])
    assert caught.value.code == EXIT_USAGE


def test_validate_reports_schema_and_reference_problems_together(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the example policy with a misspelt key, an unknown model and an unknown default route
    text = EXAMPLE_POLICY.read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        text.replace("models: [nova-lite, gpt-4o-mini,", "models: [nova-lyte, gpt-4o-mini,", 1)
        .replace("default_route: ", "default_rout: ", 1)
        .replace("defaults:\n  route: general\n", "defaults:\n  route: generl\n", 1)
    )
    # When validated
    code, _, err = run(capsys, "policy", "validate", str(broken))
    # Then all three come out in one run, each with the closest valid name, in file order
    assert code == EXIT_REJECTED
    lines = err.splitlines()[1:]
    assert len(lines) == 3, err
    assert "unknown route 'generl' (did you mean 'general'?)" in err
    assert "unknown model 'nova-lyte' (did you mean 'nova-lite'?)" in err
    assert "unknown field 'default_rout' (did you mean 'default_route'?)" in err
    numbers = [int(line.split("(line ")[1].split(")")[0]) for line in lines]
    assert numbers == sorted(numbers)


def test_route_reads_the_body_and_tenant_of_an_api_gateway_event(capsys: pytest.CaptureFixture[str]) -> None:
    # Given an API Gateway REST proxy event, whose authorizer resolved a tenant
    event = load_event("chat-support")
    # When it is routed as the request, without --tenant or --request-id
    code, out, err = run(
        capsys,
        "route",
        "--policy",
        str(EXAMPLE_POLICY),
        "--request",
        str(EVENTS / "chat-support.json"),
        "--json",
    )
    # Then its body is routed for the event's tenant and request id, and stderr says what was read
    decision = json.loads(out)
    assert code == EXIT_OK
    assert decision["tenant"] == event["requestContext"]["authorizer"]["tenant_id"]
    assert decision["request_id"] == event["requestContext"]["requestId"]
    assert err.startswith("read the body of an API Gateway event (POST /v1/chat/completions)")
    assert f"tenant {decision['tenant']}" in err


def test_route_decodes_a_base64_event_body_and_the_tenant_option_wins(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given an event whose body is base64-encoded
    event = load_event("chat-support")
    plain = json.loads(event["body"])
    event.update(body=base64.b64encode(event["body"].encode()).decode(), isBase64Encoded=True)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    # When routed with --tenant and --request-id
    args = ["--request", str(path), "--tenant", "lexdoc-eu", "--request-id", "r1", "--json"]
    code, out, err = run(capsys, "route", "--policy", str(EXAMPLE_POLICY), *args)
    # Then the decoded body is routed for the given tenant, and only the body is said to be read
    decision = json.loads(out)
    assert code == EXIT_OK
    assert decision["tenant"] == "lexdoc-eu"
    assert decision["request_id"] == "r1"
    assert err.strip() == "read the body of an API Gateway event (POST /v1/chat/completions)"
    assert plain["messages"]


def test_route_refuses_an_event_without_a_body(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a GET event, When routed, Then one line says there is nothing to route
    path = EVENTS / "models-list.json"
    code, _, err = run(capsys, "route", "--policy", str(EXAMPLE_POLICY), "--request", str(path))
    assert code == EXIT_REJECTED
    assert err.strip() == f"error: {path}: the API Gateway event (GET /v1/models) has no body to route"


def test_usage_is_a_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no running local stack, When `modelrouter usage --local` runs, Then it is dispatched and says so
    monkeypatch.setenv(LOCAL_ENV_OVERRIDE, str(tmp_path / "missing.env"))
    code, _, err = run(capsys, "usage", "--local")
    assert code == EXIT_REJECTED
    assert err.strip() == f"error: local_stack_not_running: {NOT_RUNNING}"
