"""The `cdk-streams` command line: generate-event, local invoke, and (slow) local demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdk_streams.cli import build_parser, main

FIXTURE_HANDLER = Path(__file__).parent / "fixtures" / "local_app" / "handler"
#: An item, as a user may save it where an event file is expected.
ITEM_FILE = Path(__file__).parent / "fixtures" / "an_item.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    text = build_parser().format_help()
    assert "summary" in text and "local" in text and "generate-event" in text
    with pytest.raises(SystemExit):
        main(["local", "--help"])
    out = capsys.readouterr().out
    assert "demo" in out and "invoke" in out


def test_generate_event_modify(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "generate-event",
        "modify",
        "--item",
        '{"orderId": "o-1", "status": "PAID", "total": 12.5}',
        "--old",
        '{"orderId": "o-1", "status": "PLACED", "total": 12.5}',
    )
    assert code == 0
    (record,) = json.loads(out)["Records"]
    assert record["eventName"] == "MODIFY"
    assert record["dynamodb"]["Keys"] == {"orderId": {"S": "o-1"}}
    assert record["dynamodb"]["NewImage"]["total"] == {"N": "12.5"}
    assert record["dynamodb"]["OldImage"]["status"] == {"S": "PLACED"}


def test_generate_event_ttl_remove_keys_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "generate-event",
        "remove",
        "--item",
        '{"pk": "a", "sk": 1}',
        "--keys",
        "pk,sk",
        "--view-type",
        "KEYS_ONLY",
        "--ttl",
    )
    (record,) = json.loads(out)["Records"]
    assert code == 0 and record["eventName"] == "REMOVE"
    assert record["userIdentity"]["principalId"] == "dynamodb.amazonaws.com"
    assert set(record["dynamodb"]["Keys"]) == {"pk", "sk"} and "OldImage" not in record["dynamodb"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate-event", "insert", "--item", "{nope"], "--item: not JSON"),
        (["generate-event", "insert", "--item", "[1]"], "--item: must be a JSON object"),
        (
            ["generate-event", "insert", "--item", '{"id": "x"}'],
            '--item lacks the key attribute(s) orderId: {"id": "x"}; name your table\'s key '
            "with --keys (e.g. --keys pk or --keys pk,sk)",
        ),
        (["generate-event", "modify", "--item", '{"orderId": "x"}'], "modify needs --old"),
        (
            ["generate-event", "insert", "--item", '{"orderId": "x"}', "--ttl"],
            "--ttl only applies to remove",
        ),
        (["local", "invoke", "--event", "/nonexistent.json"], "--event: cannot read"),
        (["local", "invoke", "--event", __file__], "is not JSON"),
        (
            # An item saved where the event should be: not an empty batch that succeeds.
            ["local", "invoke", "--event", str(ITEM_FILE)],
            f"--event: {ITEM_FILE} is not a stream event (an object with a Records list); "
            "cdk-streams generate-event writes one",
        ),
        (["local", "demo", "--app-dir", "/"], "--app-dir / has no cdk.json"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv)
    command = " ".join(argv[:2]) if argv[0] == "local" else argv[0]
    assert code == 2
    assert err.startswith(f"cdk-streams {command}: ") and message in err
    assert err.count("\n") == 1


def test_invoke_runs_the_bundled_handler_on_a_generated_event(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, out, _ = run(
        capsys,
        "generate-event",
        "insert",
        "--item",
        '{"orderId": "o-7", "customerId": "c-1", "total": 3}',
    )
    event = tmp_path / "event.json"
    event.write_text(out)
    code, out, err = run(capsys, "local", "invoke", "--event", str(event))
    assert code == 0
    assert json.loads(out) == {"batchItemFailures": []}
    assert "START RequestId:" in err and "o-7" in err  # the handler's log, on stderr
    # Said, since a user in their app's directory may expect their own function.
    assert err.startswith(
        "no --handler-dir and --handler: running the bundled sample process_order_changes.handler\n"
    )


def invoke_recorder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, action: str
) -> tuple[int, Any, dict[str, Any]]:
    """`local invoke` of the recorder handler on one INSERT whose ``action`` is given:
    the exit status, the response printed and the event's record."""
    _, out, _ = run(
        capsys,
        "generate-event",
        "insert",
        "--keys",
        "pk",
        "--item",
        json.dumps({"pk": "p", "action": action}),
    )
    event = tmp_path / "event.json"
    event.write_text(out)
    (record,) = json.loads(out)["Records"]
    code, out, _ = run(
        capsys,
        "local",
        "invoke",
        "--event",
        str(event),
        "--handler-dir",
        str(FIXTURE_HANDLER),
        "--handler",
        "recorder.handler",
        "--env",
        f"RECORD_DIR={tmp_path}",
        "--env",
        "ROLE=cli",
    )
    return code, json.loads(out), record


def test_invoke_a_handler_dir_reports_a_crash_as_a_function_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, response, _ = invoke_recorder(capsys, tmp_path, "exit")
    assert code == 1
    assert response["errorType"] == "Runtime.ExitError"
    assert (tmp_path / "cli.jsonl").is_file()  # it ran, with the given environment


def test_invoke_exits_1_when_the_response_reports_failed_records(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, response, record = invoke_recorder(capsys, tmp_path, "poison")
    assert code == 1
    assert response == {
        "batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]
    }


def test_invoke_flags_are_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    event = tmp_path / "e.json"
    event.write_text('{"Records": []}')
    code, _, err = run(capsys, "local", "invoke", "--event", str(event), "--handler", "a.b")
    assert code == 2 and "--handler-dir and --handler go together" in err
    code, _, err = run(capsys, "local", "invoke", "--event", str(event), "--env", "NOEQUALS")
    assert code == 2 and "--env takes KEY=VALUE, got 'NOEQUALS'" in err
