"""What `local up` prints and how its loop runs, with a stand-in cloud (no deploy, no waiting)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from cdk_streams.local.deployment import Deployment
from cdk_streams.local.up import LocalUp, environment_lines, mapping_settings


def test_mapping_settings_use_the_constructs_prop_names() -> None:
    mapping = {
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 1,
        "StartingPosition": "LATEST",
        "MaximumRetryAttempts": 2,
        "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": False,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "FilterCriteria": {"Filters": [{"Pattern": "{}"}, {"Pattern": "{}"}]},
        "DestinationConfig": {
            "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dlq"}
        },
    }
    assert mapping_settings(mapping) == (
        "batch_size 10, max_batching_window 1 s, starting_position LATEST, retry_attempts 2, "
        "max_record_age -1 s, bisect_batch_on_error false, report_batch_item_failures true, "
        "filters 2, on_failure dlq"
    )
    assert mapping_settings({}) == ("report_batch_item_failures false, filters 0, on_failure none")


def test_environment_lines_point_the_aws_cli_and_boto3_at_the_local_cloud() -> None:
    assert environment_lines("http://localhost:4566", "us-east-1") == [
        "export AWS_ENDPOINT_URL=http://localhost:4566",
        "export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1",
        "export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
    ]


class _Runner:
    def __init__(self) -> None:
        self.runners = {"m1": object()}
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    def totals(self) -> SimpleNamespace:
        return SimpleNamespace(mappings=["Orders -> fn: read 2, succeeded 2"])


class _Cloud:
    """Stands in for LocalCloud: what LocalUp calls, nothing more."""

    endpoint_url = "http://localhost:4566"
    region = "us-east-1"

    def __init__(self, source: Path, **kwargs: object) -> None:
        self.source = source
        self.runner = _Runner()
        self.reloaded: list[str] = []
        self.log_sink = kwargs["log_sink"]

    def __enter__(self) -> _Cloud:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def deploy(self, app_dir: Path, **kwargs: object) -> Deployment:
        return Deployment(assembly_dir=app_dir, stacks=["Orders"], seconds=1.5)

    def client(self, service: str) -> None:
        return None

    def function_sources(self) -> dict[str, Path]:
        return {"fn": self.source}

    def reload_function(self, name: str) -> None:
        self.reloaded.append(name)


def test_the_loop_reloads_an_edited_function_and_stops_with_a_report(tmp_path: Path) -> None:
    source = tmp_path / "handler"
    source.mkdir()
    (source / "app.py").write_text("x = 1\n")
    os.utime(source / "app.py", ns=(10**18, 10**18))
    clouds: list[_Cloud] = []
    polls: list[float] = []

    def factory(**kwargs: object) -> _Cloud:
        clouds.append(_Cloud(source, **kwargs))
        return clouds[-1]

    def wait(seconds: float) -> bool:  # no real waiting: edit, then stop
        polls.append(seconds)
        if len(polls) == 1:
            clouds[0].log_sink("fn", "START RequestId: r")
            clouds[0].log_sink("fn", "handled INSERT o-1")
            (source / "app.py").write_text("x = 2\n")
        return len(polls) == 3

    out: list[str] = []
    session = LocalUp(tmp_path, watch=True, out=out.append, wait=wait, cloud_factory=factory)
    assert session.run() == 0
    (cloud,) = clouds
    assert cloud.reloaded == ["fn"]  # once, though polled twice after the edit
    assert polls == [1.0, 1.0, 1.0]
    assert cloud.runner.stopped
    assert out[0] == "deployed Orders in 1.5 s"
    assert "export AWS_ENDPOINT_URL=http://localhost:4566" in out
    assert "[fn] handled INSERT o-1" in out and not any("START" in line for line in out)
    assert f"[fn] code reloaded from {source}" in out
    assert out[-2:] == ["final report:", "  Orders -> fn: read 2, succeeded 2"]
