"""What operators type into ``modelrouter audit`` and ``usage`` (audit.inputs and the commands' parsers):
ids, times, ages and months are checked before any table is read; hostile values are usage errors
(exit 2, one short message, no traceback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.audit.inputs import (
    MAX_AGE,
    MAX_ID_CHARS,
    SHOWN_CHARS,
    InputError,
    identifier,
    month_start,
    resolve,
    shown,
    time_spec,
)
from modelrouter.cli.exits import EXIT_USAGE
from modelrouter.cli.main import main

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - timedelta(seconds=90)),
        ("15m", NOW - timedelta(minutes=15)),
        ("1h", NOW - timedelta(hours=1)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2025-01-31", datetime(2025, 1, 31, tzinfo=UTC)),
        ("2025-01-31T23:59:59.999Z", datetime(2025, 1, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        ("2025-02-01T01:00+01:00", datetime(2025, 2, 1, tzinfo=UTC)),
    ],
)
def test_times_are_iso_8601_in_utc_or_ages_before_now(text: str, expected: datetime) -> None:
    # Given a time as an operator types it / When it is read and resolved / Then it is that moment in UTC
    assert resolve(time_spec(text), NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "1y",
        "-1h",
        "1.5h",
        "99999999d",
        f"{MAX_AGE.days + 1}d",
        "1999-12-31",
        "3000-01-01",
        "\u0661h",
    ],
)
def test_a_time_that_is_not_one_is_refused_naming_it(text: str) -> None:
    # Given something that is no time (or one out of range) / When it is read / Then it is refused, quoted
    with pytest.raises(InputError) as refused:
        time_spec(text)
    assert repr(text)[:SHOWN_CHARS] in str(refused.value)


@pytest.mark.parametrize(
    "text",
    ["2025-13", "2025-00", "2025-1", "25-01", "2025-01-01", "", "\uff11\uff12\uff13\uff14-01", "x" * 10_000],
)
def test_a_month_that_is_not_yyyy_mm_is_refused(text: str) -> None:
    # Given something that is not a month / When it is read / Then it is refused, saying the format
    with pytest.raises(InputError, match="YYYY-MM"):
        month_start(text)


def test_a_month_is_its_first_instant() -> None:
    # Given December / When it is read / Then it starts at midnight UTC on the 1st
    assert month_start("2024-12") == datetime(2024, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["", "x" * (MAX_ID_CHARS + 1), "a\x1b[31mb", "a\nb", "a\x00", " padded", "tab\t", "\u200b"]
)
def test_an_identifier_that_is_empty_long_or_has_control_characters_is_refused(text: str) -> None:
    # Given a hostile request id / When it is checked / Then it is refused in a short, escaped message
    with pytest.raises(InputError) as refused:
        identifier(text, "request id")
    message = str(refused.value)
    assert message.startswith("request id ")
    assert len(message) < 200
    assert message.isprintable()


@given(st.text(max_size=300))
def test_any_text_is_a_value_or_an_input_error_never_anything_else(text: str) -> None:
    # Given any text at all / When it is read as each kind of input / Then it parses or is an InputError
    for parse in (time_spec, month_start, lambda value: identifier(value, "tenant")):
        message = ""
        try:
            parse(text)
        except InputError as error:
            message = str(error)
        assert message.isprintable()


def test_shown_quotes_at_most_a_few_characters() -> None:
    # Given 10 KB of text / When quoted for a message / Then a short, escaped prefix and its length
    quoted = shown("\x1b" * 10_000)
    assert len(quoted) < 4 * SHOWN_CHARS + 40
    assert "10000 characters" in quoted
    assert "\x1b" not in quoted


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``modelrouter`` expecting a usage error (exit 2); its stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    err = capsys.readouterr().err
    assert exited.value.code == EXIT_USAGE
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["audit", "--request-id", "r" * 10_000], "--request-id"),
        (["audit", "--request-id", "r\x1b]0;pwned\x07"], "--request-id"),
        (["audit", "--tenant", "acme", "--since", "last tuesday"], "--since"),
        (["audit", "--tenant", "acme", "--until", "9" * 5_000], "--until"),
        (["audit", "--tenant", "acme", "--limit", "0"], "--limit"),
        (["audit", "--tenant", "acme", "--limit", "1e9"], "--limit"),
        (["audit", "--tenant", "acme", "--outcome", "fine"], "--outcome"),
        (["audit", "--tenant", "acme", "--model", "m\x00"], "--model"),
        (["audit", "--since", "1h"], "--request-id"),
        (["audit", "--tenant", "acme", "--request-id", "r1"], "--request-id"),
        (["usage", "--month", "2025-13"], "--month"),
        (["usage", "--month", "m" * 10_000], "--month"),
    ],
)
def test_hostile_arguments_are_usage_errors_naming_the_option(
    capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    # Given a command line with one hostile or malformed argument
    # When it is run / Then it is a usage error naming the option, short and without control characters
    err = usage_error(capsys, *argv)
    last = err.strip().splitlines()[-1]
    assert named in last
    assert len(last) < 300
    assert "\x1b" not in err
    assert "\x00" not in err
