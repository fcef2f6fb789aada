"""The CLI's error policy: every error is one line naming the command; an expected error
has exit status 2, a bug exit status 1 with the traceback only under --debug, Ctrl-C and
SIGTERM stop cleanly with 130. Each path with its message."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cdk_streams import cli
from cdk_streams.cli import errors, local_up
from cdk_streams.local import LocalCloudError

APP = Path(__file__).resolve().parent / "fixtures" / "shapes_app"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _raising(error: BaseException):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        raise error

    return run


@pytest.fixture
def failing_up(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`local up` (with a valid app dir) runs whatever error the test sets."""

    def use(error: BaseException) -> None:
        monkeypatch.setattr(local_up, "run", _raising(error))

    return use


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["local", "up", "--app-dir", "/"],
            "local up: --app-dir / has no cdk.json; pass your CDK app's",
        ),
        (
            ["local", "up", "--app-dir", str(APP), "-c", "novalue"],
            "local up: -c takes KEY=VALUE, got 'novalue'",
        ),
        (
            ["local", "up", "--app-dir", str(APP), "--port", "70000"],
            "local up: --port must be 0..65535, got 70000",
        ),
        (["summary", "--app-dir", "/"], "summary: --app-dir / has no cdk.json"),
    ],
)
def test_usage_errors_are_one_line_with_exit_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith(f"cdk-streams {message}")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_taken_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "local", "up", "--app-dir", str(APP), "--port", str(port))
    assert code == 2
    assert err == (
        f"cdk-streams local up: port {port} is in use (Address already in use); pass another "
        "--port, or leave it out for a free one\n"
    )


def test_an_expected_error_with_cli_output_keeps_its_last_line(
    capsys: pytest.CaptureFixture[str], failing_up
) -> None:
    failing_up(
        LocalCloudError(
            "synth: `cdk synth --quiet` failed with exit code 1:\nTraceback ...\n"
            "  File app.py\nNameError: name 'Tabel' is not defined"
        )
    )
    code, _, err = run(capsys, "local", "up")
    assert code == 2
    assert err == (
        "cdk-streams local up: synth: `cdk synth --quiet` failed with exit code 1: NameError: "
        "name 'Tabel' is not defined (--debug shows the whole output)\n"
    )


# What `cdk synth` prints when the app fails, as the CDK CLI 2.1148 prints it: the
# app's own output, then its line saying only that the app failed.
SYNTH = "synth: `cdk synth --quiet --output /tmp/cdk-streams-local-x/assembly-y` failed with exit code 1:"
TRACEBACK = """\
Traceback (most recent call last):
  File "/home/me/orders-app/app.py", line 5, in <module>
    OrdersStack(app, "OrdersStack")
  File "/home/me/orders-app/.venv/lib/python3.11/site-packages/jsii/_runtime.py", line 135, in __call__
    inst = super(JSIIMeta, cast(JSIIMeta, cls)).__call__(*args, **kwargs)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/home/me/orders-app/stacks.py", line 14, in __init__
    StreamProcessor(
  File "/home/me/orders-app/.venv/lib/python3.11/site-packages/cdk_streams/processor.py", line 285, in __init__
    self._validate_mapping(
  File "/home/me/orders-app/.venv/lib/python3.11/site-packages/cdk_streams/validation.py", line 64, in check_int_range
    raise _fail(scope, prop, allowed, f"{value}{suffix}")
cdk_streams.validation.StreamsValidationError: OrdersStack/Shipping: batch_size must be 1..10000, got 0
python3 app.py: Subprocess exited with error 1"""
# A construct error raised in jsii's JavaScript: a chained traceback whose last
# exception is the one that says what is wrong.
JSII_TRACEBACK = """\
jsii.errors.JavaScriptError:
  Error: There is already a Construct with name 'Q' in Stack2 [S]
      at Node.addChild (/tmp/jsii-kernel-x/node_modules/constructs/lib/construct.js:466:19)

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/home/me/orders-app/app.py", line 6, in <module>
    sqs.Queue(s, "Q")
  File "/home/me/orders-app/.venv/lib/python3.11/site-packages/jsii/_kernel/providers/process.py", line 359, in send
    raise RuntimeError(resp.error) from JavaScriptError(resp.stack)
RuntimeError: There is already a Construct with name 'Q' in Stack2 [S]
python3 app.py: Subprocess exited with error 1"""
# pip's "no wheel" message carried a colour code into the validation error.
NO_WHEEL = (
    "cdk_streams.validation.StreamsValidationError: OrdersStack/Shipping: handler_dir's "
    "requirements.txt must name packages with a wheel for manylinux2014_aarch64 (Python 3.14) "
    "(pip --only-binary=:all:), got humanize==4.9.0\x1b[0m has no wheel\n"
    "python3 app.py: Subprocess exited with error 1"
)


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        (
            TRACEBACK,
            "StreamsValidationError: OrdersStack/Shipping: batch_size must be 1..10000, got 0",
        ),
        (JSII_TRACEBACK, "RuntimeError: There is already a Construct with name 'Q' in Stack2 [S]"),
        (
            NO_WHEEL,
            "StreamsValidationError: OrdersStack/Shipping: handler_dir's requirements.txt must "
            "name packages with a wheel for manylinux2014_aarch64 (Python 3.14) "
            "(pip --only-binary=:all:), got humanize==4.9.0 has no wheel",
        ),
        (
            "python3: can't open file '/home/me/orders-app/app.py': [Errno 2] No such file or "
            "directory\npython3 app.py: Subprocess exited with error 2",
            "python3: can't open file '/home/me/orders-app/app.py': [Errno 2] No such file or "
            "directory",
        ),
        (
            "/bin/sh: 1: python9: not found\npython9 app.py: Subprocess exited with error 127",
            "/bin/sh: 1: python9: not found",
        ),
        (
            'cannot reach the build server\nsh -c "./build.sh": Subprocess exited with error 3',
            "cannot reach the build server",
        ),
        # An app that fails without a word: the CLI's line is all there is.
        (
            "python3 app.py: Subprocess exited with error 1",
            "python3 app.py: Subprocess exited with error 1",
        ),
        # Not the app (a failed deploy, an older CLI): the last line, as before.
        ("line 1\nthe app broke", "the app broke"),
    ],
)
def test_a_failed_cdk_step_shows_the_line_that_says_why(output: str, shown: str) -> None:
    message = errors.one_line(LocalCloudError(f"{SYNTH}\n{output}"))
    assert message == f"{SYNTH.rstrip(':')}: {shown} (--debug shows the whole output)"


def test_a_failed_synth_in_local_up_shows_the_apps_error(
    capsys: pytest.CaptureFixture[str], failing_up
) -> None:
    failing_up(LocalCloudError(f"{SYNTH}\n{TRACEBACK}"))
    code, _, err = run(capsys, "local", "up")
    assert code == 2
    assert err == (
        f"cdk-streams local up: {SYNTH.rstrip(':')}: StreamsValidationError: OrdersStack/Shipping: "
        "batch_size must be 1..10000, got 0 (--debug shows the whole output)\n"
    )


def test_a_bug_is_one_line_and_the_traceback_needs_debug(
    capsys: pytest.CaptureFixture[str], failing_up
) -> None:
    failing_up(RuntimeError("boom"))
    code, _, err = run(capsys, "local", "up")
    assert code == 1
    assert err == (
        "cdk-streams local up: unexpected RuntimeError: boom "
        "(run again with --debug for the traceback)\n"
    )
    for argv in (["--debug", "local", "up"], ["local", "up", "--debug"]):
        code, _, err = run(capsys, *argv)
        assert code == 1
        assert "Traceback (most recent call last)" in err and "RuntimeError: boom" in err
        assert err.endswith("cdk-streams local up: unexpected RuntimeError: boom\n")


def test_a_missing_local_extra_names_the_extra(
    capsys: pytest.CaptureFixture[str], failing_up
) -> None:
    failing_up(ModuleNotFoundError("No module named 'moto'", name="moto"))
    code, _, err = run(capsys, "local", "up")
    assert code == 2
    assert err == (
        "cdk-streams local up: this command needs the local extra (missing module moto): "
        "pip install 'cdk-streams[local]'\n"
    )


def test_an_aws_error_is_a_bug_in_a_command_without_endpoint_url(
    capsys: pytest.CaptureFixture[str], failing_up
) -> None:
    from botocore.exceptions import ClientError

    # local up talks to its own emulator: the user has no --endpoint-url to check.
    failing_up(ClientError({"Error": {"Code": "Boom", "Message": "no"}}, "CreateTable"))
    code, _, err = run(capsys, "local", "up")
    assert (code, err) == (
        1,
        "cdk-streams local up: unexpected ClientError: An error occurred (Boom) when calling "
        "the CreateTable operation: no (run again with --debug for the traceback)\n",
    )


def test_the_error_policy_does_not_import_botocore() -> None:
    code = (
        "import sys; from cdk_streams.cli import main; "
        "status = main(['generate-event', 'insert', '--item', '{nope']); "
        "print(status, 'botocore' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout == "2 False\n"
    assert done.stderr.startswith("cdk-streams generate-event: --item: not JSON")


def test_ctrl_c_is_no_traceback(capsys: pytest.CaptureFixture[str], failing_up) -> None:
    failing_up(KeyboardInterrupt())
    code, _, err = run(capsys, "local", "up")
    assert code == cli.INTERRUPTED == 130
    assert err == "cdk-streams local up: interrupted; stopped cleanly\n"


def test_sigterm_stops_a_command_as_ctrl_c_does(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cleaned: list[str] = []

    def waits_for_a_signal(args: argparse.Namespace) -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pause()  # pragma: no cover - the signal interrupts it
            return 0
        finally:
            cleaned.append("finally ran")

    monkeypatch.setattr(local_up, "run", waits_for_a_signal)
    before = signal.getsignal(signal.SIGTERM)
    code, _, err = run(capsys, "local", "up")
    assert (code, err) == (130, "cdk-streams local up: interrupted; stopped cleanly\n")
    assert cleaned == ["finally ran"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigint_stops_a_command_even_when_it_was_started_with_sigint_ignored(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a non-interactive shell does to a job it starts in the background.
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def waits_for_a_signal(args: argparse.Namespace) -> int:
        os.kill(os.getpid(), signal.SIGINT)
        # A bound, not a measurement: an ignored signal ends in status 0 here.
        threading.Event().wait(30)
        return 0

    monkeypatch.setattr(local_up, "run", waits_for_a_signal)
    try:
        code, _, err = run(capsys, "local", "up")
        restored = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, before)
    assert (code, err) == (130, "cdk-streams local up: interrupted; stopped cleanly\n")
    assert restored is signal.SIG_IGN  # given back as it was found


def test_one_line_of_an_empty_message_is_the_type() -> None:
    assert errors.one_line(ValueError()) == "ValueError"
    assert errors.one_line(ValueError("cdk-streams: do this")) == "do this"
    assert errors.missing_extra(ModuleNotFoundError("x", name="yaml")) is None


def test_invoke_documents_both_handler_forms(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["local", "invoke", "--help"])
    # argparse wraps help at the terminal's width (COLUMNS); compare the words.
    assert "module.function (or module:function)" in " ".join(capsys.readouterr().out.split())


def test_invoke_accepts_both_handler_forms(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "mod.py").write_text(
        "def fn(event, context):\n    return {'n': len(event['Records'])}\n"
    )
    event = tmp_path / "e.json"
    event.write_text('{"Records": [{"a": 1}, {"b": 2}]}')
    for form in ("mod.fn", "mod:fn"):
        code, out, _ = run(
            capsys,
            "local",
            "invoke",
            "--event",
            str(event),
            "--handler-dir",
            str(tmp_path / "h"),
            "--handler",
            form,
        )
        assert (code, out.strip()) == (0, '{\n  "n": 2\n}')
    code, _, err = run(
        capsys,
        "local",
        "invoke",
        "--event",
        str(event),
        "--handler-dir",
        str(tmp_path / "h"),
        "--handler",
        "mod",
    )
    assert code == 2
    assert err == (
        "cdk-streams local invoke: --handler: handler must be module.function (or module:function), "
        "e.g. orders.handler; got 'mod'\n"
    )


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["redrive", "--from", "q", "--form", "x"],
            "cdk-streams redrive: unrecognized arguments: --form x "
            "(see cdk-streams redrive --help)",
        ),
        (
            ["local", "invoke", "--event", "e.json", "--tiemout", "3"],
            "cdk-streams local invoke: unrecognized arguments: --tiemout 3 "
            "(see cdk-streams local invoke --help)",
        ),
        (
            ["backfill", "--table", "t", "--batch-size", "many"],
            "cdk-streams backfill: argument --batch-size: invalid int value: 'many' "
            "(see cdk-streams backfill --help)",
        ),
        (
            ["redrive", "--function", "f"],
            "cdk-streams redrive: the following arguments are required: --from "
            "(see cdk-streams redrive --help)",
        ),
        (
            ["--verbose", "summary"],
            "cdk-streams: unrecognized arguments: --verbose (see cdk-streams --help)",
        ),
    ],
)
def test_a_command_line_that_does_not_parse_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr() == ("", line + "\n")


def test_help_still_prints_the_whole_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["redrive", "--help"])
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    # argparse wraps help at the terminal's width (COLUMNS); compare the words.
    words = " ".join(out.split())
    assert words.startswith("usage: cdk-streams redrive [-h] [--debug] --from SOURCE")
    assert "--dry-run list the batches" in words and err == ""
