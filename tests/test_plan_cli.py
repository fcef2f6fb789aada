"""`cdk-streams plan`: its table, its JSON, its plot, reading an app, and its errors."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from cdk_streams.cli import main
from cdk_streams.cli.plan import parse_duration

# 500 writes/s of 1 KB items: one shard. 20 ms + 4 ms/record: a lane with full
# batches of 100 handles 100 / 0.42 = 238 records/s, so one lane falls behind
# and three keep up.
BEHIND = [
    "--writes-per-second",
    "500",
    "--invocation-ms",
    "20",
    "--record-ms",
    "4",
    "--duration",
    "10m",
]


def plan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["plan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_the_planning_keys_and_the_numbers_follow_the_arithmetic(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = plan(capsys, *BEHIND, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["shards"] == 1
    assert doc["max_concurrency"] == 1
    assert doc["records_written"] == 300_000
    # 238 records/s processed out of 500/s: the backlog grows by about 262/s.
    assert doc["records_processed"] == pytest.approx(238 * 600, rel=0.02)
    assert doc["backlog"] == pytest.approx(262 * 600, rel=0.03)
    assert doc["iterator_age_p99_seconds"] > 250
    assert doc["records_expired"] == 0
    assert doc["keeps_up"] is False
    assert doc["monthly_cost_usd"] > 0
    assert doc["settings"]["source"] == "StreamProcessor defaults"
    series = doc["series"]
    assert series["step_seconds"] == 60 and len(series["iterator_age_max"]) == 10
    assert series["iterator_age_max"][-1] > series["iterator_age_max"][0]
    assert set(series["concurrency"]) == {1}
    recommendation = doc["recommendation"]
    assert recommendation["found"] is True
    assert (recommendation["parallelization"], recommendation["batch_size"]) == (3, 100)
    simulated_p99_age = recommendation["iterator_age_p99_seconds"]  # virtual time
    assert simulated_p99_age < 60


def test_the_table_shows_the_outcome_and_the_advice(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = plan(capsys, *BEHIND, "--parallelization", "3")
    assert code == 0
    assert "mapping (StreamProcessor defaults): batch 100, window 0 s, parallelization 3" in out
    assert "max concurrency                     3" in out
    assert "records start to be lost            never (keeps up)" in out
    assert "keeps up: parallelization 3, batch size 100" in out
    assert "256 MB arm64" in out  # StreamProcessor's architecture, not Lambda's x86_64


def test_the_help_gives_the_constructs_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    # The help is written from streams.settings; the construct must deploy what it says.
    from cdk_streams import processor
    from cdk_streams.streams import settings

    assert processor.DEFAULT_BATCH_SIZE == settings.PROCESSOR_BATCH_SIZE == 100
    assert processor.DEFAULT_RETRY_ATTEMPTS == settings.PROCESSOR_RETRY_ATTEMPTS == 10
    assert processor.DEFAULT_MAX_RECORD_AGE.to_seconds() == 3600
    assert settings.PROCESSOR_MAX_RECORD_AGE_SECONDS == 3600
    assert processor.DEFAULT_MEMORY_SIZE == settings.PROCESSOR_MEMORY_MB == 256
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in (
        f"1..10000 (default: {settings.PROCESSOR_BATCH_SIZE})",
        f"-1 or 0..10000 (default: {settings.PROCESSOR_RETRY_ATTEMPTS})",
        f"-1 or 60..604800 seconds (default: {settings.PROCESSOR_MAX_RECORD_AGE_SECONDS})",
        f"128..10240 (default: {settings.PROCESSOR_MEMORY_MB})",
    ):
        assert shown in text


def test_the_default_architecture_is_the_constructs_and_a_flag_overrides_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cdk_streams.bundling import DEFAULT_ARCHITECTURE
    from cdk_streams.simulation.costs import LIST_PRICES
    from cdk_streams.simulation.planner import Plan
    from cdk_streams.streams.settings import PROCESSOR_ARCHITECTURE

    # What StreamProcessor deploys is what plan prices, and what its help says.
    assert DEFAULT_ARCHITECTURE.name == PROCESSOR_ARCHITECTURE == "arm64"
    assert Plan.architecture == PROCESSOR_ARCHITECTURE
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    assert "x86_64 or arm64 (default: arm64)" in " ".join(capsys.readouterr().out.split())

    costs = {}
    for flags in ([], ["--architecture", "x86_64"]):
        code, out, err = plan(capsys, *BEHIND, "--duration", "1m", "--json", *flags)
        assert code == 0, err
        doc = json.loads(out)
        costs[doc["settings"]["architecture"]] = doc["monthly_cost"]
    # The same work, priced at each architecture's GB-second.
    assert costs["arm64"]["gb_seconds"] == costs["x86_64"]["gb_seconds"]
    for architecture, cost in costs.items():
        assert cost["compute_usd"] == pytest.approx(
            cost["gb_seconds"] * LIST_PRICES.gb_second[architecture], abs=0.01
        )


def test_a_pipeline_that_cannot_keep_up_says_what_would(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = plan(
        capsys, "--writes-per-second", "900", "--record-ms", "20", "--duration", "2m"
    )
    assert code == 0
    assert "no recommendation: no setting keeps up: each of the 1 shard(s) gets 900 writes/s" in out
    assert "below 11.11 ms per record" in out


def test_plot_draws_a_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "plan.png"
    code, out, err = plan(capsys, *BEHIND, "--duration", "2m", "--plot", str(target))
    assert code == 0, err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot: {target}" in out


def test_plot_without_matplotlib_names_the_extra(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = plan(capsys, *BEHIND, "--duration", "1m", "--plot", str(tmp_path / "x.png"))
    assert code == 2
    assert (
        err
        == "cdk-streams plan: drawing a plan needs matplotlib: pip install 'cdk-streams[plot]'\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--writes-per-second", "-5"], "--writes-per-second must be more than 0, got -5"),
        (["--writes-per-second", "lots"], "--writes-per-second must be a number, got 'lots'"),
        (
            ["--writes-per-second", "10", "--batch-size", "0"],
            "--batch-size must be 1..10000, got 0",
        ),
        (
            ["--writes-per-second", "10", "--batch-size", "2.5"],
            "--batch-size must be a whole number, got '2.5'",
        ),
        (
            ["--writes-per-second", "10", "--parallelization", "11"],
            "--parallelization must be 1..10, got 11",
        ),
        (
            ["--writes-per-second", "10", "--window-seconds", "301"],
            "--window-seconds must be 0..300, got 301",
        ),
        (
            ["--writes-per-second", "10", "--memory-mb", "64"],
            "--memory-mb must be 128..10240, got 64",
        ),
        (
            ["--writes-per-second", "10", "--max-record-age", "30"],
            "--max-record-age must be 60..604800 or -1, got 30",
        ),
        (
            ["--writes-per-second", "10", "--retry-attempts", "-2"],
            "--retry-attempts must be 0..10000 or -1, got -2",
        ),
        (
            ["--writes-per-second", "10", "--duration", "soon"],
            "--duration must be a duration like 90s, 30m, 1h or 1h30m, got 'soon'",
        ),
        (["--writes-per-second", "10", "--duration", "8d"], "--duration must be 1s..7d, got '8d'"),
        (
            ["--writes-per-second", "10", "--item-kb", "401"],
            "--item-kb must be more than 0 and at most 400, got 401",
        ),
        (
            ["--writes-per-second", "10", "--architecture", "sparc"],
            "--architecture must be x86_64 or arm64, got 'sparc'",
        ),
        (
            ["--writes-per-second", "10", "--on-failure", "email"],
            "--on-failure must be sqs, sns, s3 or none, got 'email'",
        ),
        (
            ["--writes-per-second", "10", "--traffic", "bursty"],
            "--traffic must be steady, daily or spike, got 'bursty'",
        ),
        (
            ["--writes-per-second", "10", "--traffic", "spike"],
            "--traffic spike needs --spike-writes-per-second",
        ),
        (
            ["--writes-per-second", "10", "--invocation-ms", "0", "--record-ms", "0"],
            "--invocation-ms and --record-ms cannot both be 0: a function takes time",
        ),
        (
            ["--writes-per-second", "10", "--target-age", "0"],
            "--target-age must be more than 0, got 0",
        ),
        (["--writes-per-second", "10", "--mapping", "X"], "--mapping goes with --app-dir"),
        (
            ["--writes-per-second", "10", "--app-dir", "/nonexistent/app"],
            "--app-dir /nonexistent/app is not a directory",
        ),
    ],
)
def test_impossible_inputs_get_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = plan(capsys, *argv)
    assert code == 2
    assert err == f"cdk-streams plan: {message}\n"
    assert out == ""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("1h30m", 5400), ("2d", 172800), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def _assembly(
    root: Path, mappings: dict[str, dict[str, Any]], stacks: tuple[str, ...] = ("OrdersStack",)
) -> Path:
    """A cloud assembly shaped like `cdk synth` output of the sample app, with a
    copy of its stack under each name in ``stacks``."""
    resources: dict[str, Any] = {
        "OrdersTable1F8332C7": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "ProcessOrderChangesDeadLetterQueueAE29EFC1": {"Type": "AWS::SQS::Queue"},
        "ProcessOrderChangesFunction91F9EC23": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"MemorySize": 512, "Architectures": ["arm64"], "Runtime": "python3.14"},
        },
    }
    for logical_id, extra in mappings.items():
        resources[logical_id] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "BatchSize": 100,
                "BisectBatchOnFunctionError": True,
                "DestinationConfig": {
                    "OnFailure": {
                        "Destination": {
                            "Fn::GetAtt": ["ProcessOrderChangesDeadLetterQueueAE29EFC1", "Arn"]
                        }
                    }
                },
                "Enabled": True,
                "EventSourceArn": {"Fn::GetAtt": ["OrdersTable1F8332C7", "StreamArn"]},
                "FunctionName": {"Ref": "ProcessOrderChangesFunction91F9EC23"},
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "MaximumBatchingWindowInSeconds": 5,
                "MaximumRecordAgeInSeconds": 3600,
                "MaximumRetryAttempts": 10,
                "ParallelizationFactor": 1,
                "StartingPosition": "LATEST",
                **extra,
            },
        }
    out = root / "cdk.out"
    out.mkdir(parents=True)
    artifacts: dict[str, Any] = {"Tree": {"type": "cdk:tree"}}
    for stack in stacks:
        (out / f"{stack}.template.json").write_text(json.dumps({"Resources": resources}))
        artifacts[stack] = {
            "type": "aws:cloudformation:stack",
            "properties": {"templateFile": f"{stack}.template.json"},
        }
    (out / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": artifacts}))
    return root


def test_app_dir_synthesizes_again_when_the_app_changed_after_cdk_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from cdk_streams.cli import plan as plan_module

    stale = _assembly(tmp_path / "app", {"StaleMapping": {"BatchSize": 100}})
    fresh = _assembly(tmp_path / "fresh", {"FreshMapping": {"BatchSize": 10}})
    (stale / "cdk.json").write_text('{"app": "python3 app.py"}')
    (stale / "stacks").mkdir()
    (stale / "stacks" / "orders.py").write_text("# batch_size=10 now\n")
    written = (stale / "cdk.out" / "manifest.json").stat().st_mtime
    os.utime(stale / "cdk.json", (written - 60, written - 60))
    os.utime(stale / "stacks" / "orders.py", (written + 60, written + 60))
    synthesized: list[Path] = []

    def synthesize(app_dir: Path, out: str, **_: Any) -> None:
        synthesized.append(app_dir)
        shutil.copytree(fresh / "cdk.out", out, dirs_exist_ok=True)

    monkeypatch.setattr(plan_module, "synthesize", synthesize)
    code, out, err = plan(capsys, "--app-dir", str(stale), "--writes-per-second", "5", "--json")
    assert code == 0, err
    assert synthesized == [stale] and json.loads(out)["settings"]["batch_size"] == 10
    assert "stacks/orders.py changed after cdk.out was written: synthesizing" in err
    # Once cdk.out is newer than every file of the app, it is read as it is; an
    # editor's lock file (a dangling link) is not the app's.
    os.utime(stale / "stacks" / "orders.py", (written - 60, written - 60))
    (stale / "stacks" / ".#orders.py").symlink_to("user@host.1234:1700000000")
    code, out, _ = plan(capsys, "--app-dir", str(stale), "--writes-per-second", "5", "--json")
    assert code == 0 and len(synthesized) == 1
    assert json.loads(out)["settings"]["batch_size"] == 100


def test_app_dir_reads_the_mapping_and_the_function_from_the_assembly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    app = _assembly(tmp_path, {"ProcessOrderChangesEventSourceMapping8C4B7964": {}})
    code, out, err = plan(
        capsys, "--app-dir", str(app), "--writes-per-second", "50", "--duration", "5m", "--json"
    )
    assert code == 0, err
    settings = json.loads(out)["settings"]
    assert settings == {
        "source": f"mapping from {app}",
        "batch_size": 100,
        "window_seconds": 5.0,
        "parallelization": 1,
        "memory_mb": 512,
        "architecture": "arm64",
        "retry_attempts": 10,
        "max_record_age": 3600.0,
        "bisect": True,
        "report_batch_item_failures": True,
        "on_failure": "arn:aws:sqs:us-east-1:123456789012:ProcessOrderChangesDeadLetterQueueAE29EFC1",
    }
    doc = json.loads(out)
    # At 50 writes/s a batch of 100 is full after 2 s, before the 5 s window ends: 150
    # full batches. The iterator age (of a batch's last record) stays under one poll.
    assert doc["invocations"] == pytest.approx(50 * 300 / 100, rel=0.05)
    simulated_p99_age = doc["iterator_age_p99_seconds"]  # virtual time
    assert simulated_p99_age <= 0.26
    # Flags override what the app says.
    code, out, _ = plan(
        capsys,
        "--app-dir",
        str(app),
        "--writes-per-second",
        "50",
        "--duration",
        "5m",
        "--window-seconds",
        "0",
        "--json",
    )
    assert json.loads(out)["settings"]["window_seconds"] == 0.0


def test_app_dir_with_several_mappings_asks_which(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    app = _assembly(tmp_path, {"MappingA": {}, "MappingB": {"BatchSize": 500}})
    code, _, err = plan(capsys, "--app-dir", str(app), "--writes-per-second", "50")
    assert code == 2
    assert (
        err
        == "cdk-streams plan: the app has 2 stream mappings (MappingA, MappingB); pick one with --mapping\n"
    )
    code, out, _ = plan(
        capsys,
        "--app-dir",
        str(app),
        "--mapping",
        "MappingB",
        "--writes-per-second",
        "50",
        "--duration",
        "1m",
        "--json",
    )
    assert code == 0 and json.loads(out)["settings"]["batch_size"] == 500
    code, _, err = plan(
        capsys, "--app-dir", str(app), "--mapping", "MappingC", "--writes-per-second", "50"
    )
    assert (code, err) == (
        2,
        "cdk-streams plan: --mapping MappingC: no stream mapping has that logical id; "
        "pick one of MappingA, MappingB\n",
    )


def test_app_dir_leaves_out_queue_mappings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    queue = {"Fn::GetAtt": ["ProcessOrderChangesDeadLetterQueueAE29EFC1", "Arn"]}
    app = _assembly(tmp_path, {"Stream": {"BatchSize": 7}, "Queue": {"EventSourceArn": queue}})
    code, out, err = plan(
        capsys, "--app-dir", str(app), "--writes-per-second", "50", "--duration", "1m", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["settings"]["batch_size"] == 7
    code, _, err = plan(
        capsys, "--app-dir", str(app), "--mapping", "Queue", "--writes-per-second", "50"
    )
    assert (code, err) == (
        2,
        "cdk-streams plan: --mapping Queue: no stream mapping has that logical id; "
        "pick one of Stream\n",
    )
    only_queue = _assembly(tmp_path / "queue", {"Queue": {"EventSourceArn": queue}})
    code, _, err = plan(capsys, "--app-dir", str(only_queue), "--writes-per-second", "50")
    assert (code, err) == (
        2,
        f"cdk-streams plan: --app-dir {only_queue}: the app has no stream event-source mapping; "
        "pass the app with your StreamProcessor, or leave out --app-dir to plan its defaults\n",
    )


def test_the_same_logical_id_in_two_stacks_is_picked_by_its_stack(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    app = _assembly(tmp_path, {"Shipping": {}}, stacks=("Dev", "Prod"))
    for mapping in ([], ["--mapping", "Shipping"]):
        code, _, err = plan(capsys, "--app-dir", str(app), "--writes-per-second", "50", *mapping)
        assert (code, err) == (
            2,
            "cdk-streams plan: the app has 2 stream mappings (Dev/Shipping, Prod/Shipping); "
            "pick one with --mapping\n",
        )
    code, out, err = plan(
        capsys,
        *("--app-dir", str(app), "--mapping", "Prod/Shipping"),
        *("--writes-per-second", "50", "--duration", "1m", "--json"),
    )
    assert code == 0, err
    assert json.loads(out)["settings"]["source"] == f"mapping from {app}"


ELSEWHERE = {"Fn::ImportValue": "OtherApp:OrdersStreamArn"}


def test_a_mapping_that_cannot_be_read_stops_only_its_own_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    app = _assembly(tmp_path, {"Readable": {}, "Shipping1A2B3C4D": {"EventSourceArn": ELSEWHERE}})
    code, out, err = plan(
        capsys,
        *("--app-dir", str(app), "--mapping", "Readable"),
        *("--writes-per-second", "50", "--duration", "1m", "--json"),
    )
    assert code == 0, err
    assert json.loads(out)["settings"]["window_seconds"] == 5.0
    code, out, err = plan(
        capsys, "--app-dir", str(app), "--mapping", "Shipping1A2B3C4D", "--writes-per-second", "50"
    )
    assert (code, out) == (2, "")
    assert err == (
        'cdk-streams plan: Shipping1A2B3C4D: cannot tell what {"Fn::ImportValue": '
        '"OtherApp:OrdersStreamArn"} refers to (no stack of the app exports '
        "OtherApp:OrdersStreamArn); leave out --app-dir and give the mapping's settings as "
        "flags (--batch-size, --parallelization, --window-seconds ...: see cdk-streams plan "
        "--help)\n"
    )
    # docs/capacity-planning.md quotes it, wrapped.
    doc = (Path(__file__).parent.parent / "docs" / "capacity-planning.md").read_text()
    assert err.strip() in " ".join(doc.split())
    # The way out it names is there.
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    help_text = capsys.readouterr().out
    for flag in ("--batch-size", "--parallelization", "--window-seconds"):
        assert flag in help_text
    # With the flags and without --app-dir, the same mapping plans.
    code, _, err = plan(
        capsys, "--writes-per-second", "50", "--duration", "1m", "--window-seconds", "5"
    )
    assert code == 0, err


def test_app_dir_without_an_app(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = plan(capsys, "--app-dir", str(tmp_path), "--writes-per-second", "50")
    assert (code, err) == (
        2,
        f"cdk-streams plan: --app-dir {tmp_path} has no cdk.json and no cdk.out\n",
    )


def test_app_dir_without_a_cdk_cli_says_how_to_get_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdk_streams.cdk_cli import CdkCliError

    def no_cli(*args: Any, **kwargs: Any) -> None:
        raise CdkCliError("no CDK CLI found: install Node 22 or newer")

    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')
    monkeypatch.setattr("cdk_streams.cli.app_dir.find_cdk", no_cli)
    code, _, err = plan(capsys, "--app-dir", str(tmp_path), "--writes-per-second", "50")
    assert (code, err) == (2, "cdk-streams plan: no CDK CLI found: install Node 22 or newer\n")


def test_help_lists_plan_and_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    from cdk_streams.cli import build_parser

    assert "plan" in build_parser().format_help()
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    out = capsys.readouterr().out
    for flag in (
        "--writes-per-second",
        "--invocation-ms",
        "--record-ms",
        "--duration",
        "--app-dir",
        "--parallelization",
        "--target-age",
        "--json",
        "--plot",
    ):
        assert flag in out, flag


def test_a_spike_splits_the_shards(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = plan(
        capsys,
        *("--writes-per-second", "800", "--traffic", "spike", "--spike-writes-per-second", "3000"),
        *("--spike-at", "5m", "--spike-for", "5m", "--duration", "15m", "--record-ms", "0.5"),
        *("--batch-size", "500", "--json"),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["shards_initial"], doc["shards"], doc["shard_splits"]) == (1, 3, 1)
    # Each of 3 shards takes a third; fractions carried per shard lose at most a write each.
    assert 800 * 600 + 3000 * 300 - doc["records_written"] in range(4)
    assert doc["keeps_up"] is True
