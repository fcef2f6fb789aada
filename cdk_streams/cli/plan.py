"""``cdk-streams plan``: will a stream mapping keep up, and what will it cost?

Simulates the mapping on a virtual clock (:mod:`cdk_streams.simulation`) at the
given write rate, prints iterator age, concurrency, lost records and monthly
cost, and recommends the smallest parallelization factor and batch size that
keep the p99 iterator age under a target.

    cdk-streams plan --writes-per-second 20000 --invocation-ms 20 --record-ms 2
    cdk-streams plan --app-dir . --writes-per-second 5000 --json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..simulation.costs import DESTINATIONS, destination_kind
from ..streams.arns import placeholder_arn
from ..streams.settings import (
    ARCHITECTURES,
    BATCH_SIZE,
    LAMBDA_MAX_BATCHING_WINDOW_SECONDS,
    LAMBDA_PARALLELIZATION_FACTOR,
    MAX_BATCHING_WINDOW_SECONDS,
    MAX_RECORD_AGE_SECONDS,
    MEMORY_SIZE_MB,
    PARALLELIZATION_FACTOR,
    PROCESSOR_ARCHITECTURE,
    PROCESSOR_BATCH_SIZE,
    PROCESSOR_MAX_RECORD_AGE_SECONDS,
    PROCESSOR_MEMORY_MB,
    PROCESSOR_RETRY_ATTEMPTS,
    RETRY_ATTEMPTS,
    UNLIMITED,
    MappingConfig,
)
from .app_dir import synthesize
from .errors import CliError
from .output import progress

#: StreamProcessor's on-failure destination when it is given none: an SQS queue.
_PROCESSOR_ON_FAILURE = "sqs"
_ON_FAILURE_CHOICES = f"{', '.join(DESTINATIONS)} or none"
_ARCHITECTURE_CHOICES = " or ".join(ARCHITECTURES)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)([smhd]))+$")
MAX_DURATION = 7 * 86400


def parse_duration(text: str, flag: str = "--duration") -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``1h``, ``1h30m`` or ``2d``."""
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        if not _DURATION.match(value):
            raise CliError(
                f"{flag} must be a duration like 90s, 30m, 1h or 1h30m, got {text!r}"
            ) from None
        seconds = sum(
            float(n) * _UNITS[unit] for n, unit in re.findall(r"(\d+(?:\.\d+)?)([smhd])", value)
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise CliError(f"{flag} must be 0 or more seconds, got {text!r}")
    return seconds


def _number(
    args: argparse.Namespace,
    name: str,
    *,
    low: float,
    high: float = math.inf,
    integer: bool = False,
    above: bool = False,
    also: tuple[float, ...] = (),
) -> float | None:
    raw = getattr(args, name)
    if raw is None:
        return None
    flag = "--" + name.replace("_", "-")
    kind = "a whole number" if integer else "a number"
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise CliError(f"{flag} must be {kind}, got {raw!r}") from None
    if value in also:
        return value
    in_range = (value > low if above else value >= low) and value <= high
    if not in_range or not math.isfinite(value):
        if high == math.inf:
            allowed = f"more than {low:g}" if above else f"{low:g} or more"
        else:
            allowed = f"more than {low:g} and at most {high:g}" if above else f"{low:g}..{high:g}"
        extra = "".join(f" or {a:g}" for a in also)
        raise CliError(f"{flag} must be {allowed}{extra}, got {raw}")
    return value


def _span(limits: tuple[int, int]) -> str:
    return f"{limits[0]}..{limits[1]}"


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``plan`` to the ``cdk-streams`` command parser."""
    plan = commands.add_parser(
        "plan",
        parents=parents,
        help="simulate a stream mapping at scale on a virtual clock: iterator age, "
        "concurrency, expired records, monthly cost; recommends settings that keep up",
        description="Simulate a DynamoDB stream -> Lambda mapping on a virtual clock "
        "with the same delivery rules as the local cloud, and recommend the smallest "
        "parallelization factor and batch size that keep the p99 iterator age under a target.",
    )
    load = plan.add_argument_group("load and function")
    load.add_argument("--writes-per-second", required=True, metavar="N", help="table writes/s")
    load.add_argument("--item-kb", default="1", metavar="KB", help="item size (default: 1)")
    load.add_argument(
        "--invocation-ms",
        default="20",
        metavar="MS",
        help="fixed cost of one invocation (default: 20)",
    )
    load.add_argument("--record-ms", default="1", metavar="MS", help="cost per record (default: 1)")
    load.add_argument(
        "--failure-rate",
        default="0",
        metavar="R",
        help="share of records that fail every time, 0..1 (default: 0)",
    )
    load.add_argument(
        "--duration",
        default="1h",
        metavar="D",
        help="simulated time, e.g. 30m, 1h, 1d (default: 1h)",
    )
    load.add_argument(
        "--traffic",
        default="steady",
        metavar="SHAPE",
        help="steady, daily (a day's curve around the rate) or spike (default: steady)",
    )
    load.add_argument(
        "--spike-writes-per-second", metavar="N", help="spike: writes/s during the spike"
    )
    load.add_argument("--spike-at", default="10m", metavar="D", help="spike: start (default: 10m)")
    load.add_argument("--spike-for", default="5m", metavar="D", help="spike: length (default: 5m)")
    load.add_argument(
        "--reads-per-second",
        default="0",
        metavar="N",
        help="table reads/s, which take partition capacity too (default: 0)",
    )
    load.add_argument(
        "--table-gb",
        default="0",
        metavar="GB",
        help="table size: a partition (and stream shard) per 10 GB (default: 0)",
    )
    mapping = plan.add_argument_group(
        "mapping settings (default: from --app-dir, else StreamProcessor's defaults)"
    )
    mapping.add_argument("--app-dir", help="read the mapping from this CDK app (cdk.out or synth)")
    mapping.add_argument(
        "--mapping",
        help="the mapping's logical id when the app has several (STACK/ID when two stacks use it)",
    )
    mapping.add_argument(
        "--batch-size",
        metavar="N",
        help=f"{_span(BATCH_SIZE)} (default: {PROCESSOR_BATCH_SIZE})",
    )
    mapping.add_argument(
        "--window-seconds",
        metavar="S",
        help=f"batching window {_span(MAX_BATCHING_WINDOW_SECONDS)} "
        f"(default: {LAMBDA_MAX_BATCHING_WINDOW_SECONDS})",
    )
    mapping.add_argument(
        "--parallelization",
        metavar="N",
        help="concurrent batches per shard (ParallelizationFactor) "
        f"{_span(PARALLELIZATION_FACTOR)} (default: {LAMBDA_PARALLELIZATION_FACTOR})",
    )
    mapping.add_argument(
        "--memory-mb",
        metavar="MB",
        help=f"{_span(MEMORY_SIZE_MB)} (default: {PROCESSOR_MEMORY_MB})",
    )
    mapping.add_argument(
        "--architecture",
        metavar="ARCH",
        help=f"{_ARCHITECTURE_CHOICES} (default: {PROCESSOR_ARCHITECTURE})",
    )
    mapping.add_argument(
        "--retry-attempts",
        metavar="N",
        help=f"{UNLIMITED} or 0..{RETRY_ATTEMPTS[1]} (default: {PROCESSOR_RETRY_ATTEMPTS})",
    )
    mapping.add_argument(
        "--max-record-age",
        metavar="S",
        help=f"{UNLIMITED} or {_span(MAX_RECORD_AGE_SECONDS)} seconds "
        f"(default: {PROCESSOR_MAX_RECORD_AGE_SECONDS})",
    )
    mapping.add_argument(
        "--on-failure",
        metavar="KIND",
        help=f"{_ON_FAILURE_CHOICES} (default: {_PROCESSOR_ON_FAILURE})",
    )
    out = plan.add_argument_group("output")
    out.add_argument(
        "--target-age",
        default="60",
        metavar="S",
        help="p99 iterator age the recommendation must stay under (default: 60)",
    )
    out.add_argument("--json", action="store_true", help="print JSON instead of the table")
    out.add_argument("--plot", metavar="FILE.png", help="draw iterator age and concurrency")
    out.add_argument("--seed", default="0", metavar="N", help="seed of the failure draws")
    plan.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``plan``; an impossible input raises :class:`CliError` (one line, exit status 2)."""
    try:
        return _plan(args)
    except BrokenPipeError:
        # The reader (`| head`) left; nothing more to say, and nothing to flush at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0


def _changed_since(app_dir: Path, manifest: Path) -> Path | None:
    """A file of the app newer than ``manifest`` (a ``cdk.out`` from before an edit);
    None when there is none, or no app to synthesize again (no ``cdk.json``)."""
    from ..handler_code import IGNORED_DIRS

    if not manifest.is_file() or not (app_dir / "cdk.json").is_file():
        return None
    written = manifest.stat().st_mtime
    skipped = {*IGNORED_DIRS, "node_modules"}
    for directory, subdirectories, files in os.walk(app_dir):
        subdirectories[:] = [d for d in subdirectories if d not in skipped and d[0] != "."]
        for name in files:
            # Hidden files are editors' (an Emacs lock is a dangling ".#x.py" link).
            if name[0] == "." or not (name.endswith(".py") or name == "cdk.json"):
                continue
            path = Path(directory, name)
            try:
                if path.stat().st_mtime > written:
                    return path
            except OSError:  # gone since the walk listed it
                continue
    return None


def _mapping_from_app(args: argparse.Namespace) -> tuple[Any, int, str]:
    from ..local.assembly import AssemblyError
    from .app_mappings import AppMapping, app_mappings

    app_dir = Path(args.app_dir).resolve()
    if not app_dir.is_dir():
        raise CliError(f"--app-dir {args.app_dir} is not a directory")
    existing = app_dir / "cdk.out"
    changed = _changed_since(app_dir, existing / "manifest.json")
    if changed is not None:
        progress(f"{changed.relative_to(app_dir)} changed after cdk.out was written: synthesizing")
    if (existing / "manifest.json").is_file() and changed is None:
        found = app_mappings(existing)
    elif (app_dir / "manifest.json").is_file():
        found = app_mappings(app_dir)
    else:
        if not (app_dir / "cdk.json").is_file():
            raise CliError(f"--app-dir {args.app_dir} has no cdk.json and no cdk.out")
        with tempfile.TemporaryDirectory(prefix="cdk-streams-plan-") as out:
            synthesize(app_dir, out, stdout=sys.stderr)
            found = app_mappings(out)
    if not found:
        raise CliError(
            f"--app-dir {args.app_dir}: the app has no stream event-source mapping; pass the "
            "app with your StreamProcessor, or leave out --app-dir to plan its defaults"
        )
    # Two stacks (one per environment, say) may each hold a mapping of the same id.
    same_id = Counter(m.logical_id for m in found)

    def label(mapping: AppMapping) -> str:
        unique = same_id[mapping.logical_id] == 1
        return mapping.logical_id if unique else mapping.path

    if args.mapping:
        wanted = [m for m in found if args.mapping in (m.logical_id, m.path)]
        if not wanted:
            raise CliError(
                f"--mapping {args.mapping}: no stream mapping has that logical id; "
                f"pick one of {', '.join(map(label, found))}"
            )
        found = wanted
    if len(found) > 1:
        shown = ", ".join(map(label, found))
        raise CliError(
            f"the app has {len(found)} stream mappings ({shown}); pick one with --mapping"
        )
    try:
        chosen = found[0].settings()
    except AssemblyError as error:
        raise CliError(
            f"{error}; leave out --app-dir and give the mapping's settings as flags "
            "(--batch-size, --parallelization, --window-seconds ...: see cdk-streams plan --help)"
        ) from None
    return chosen.config, chosen.memory_mb, chosen.architecture


def _plan(args: argparse.Namespace) -> int:
    from ..simulation.handler_model import HandlerModel
    from ..simulation.planner import Plan, recommend
    from ..simulation.planner import run as run_plan
    from ..simulation.report import format_seconds, table
    from ..simulation.shards import ShardModel
    from ..simulation.simulator import STREAM_ARN
    from ..simulation.traffic import DailyCurve, Spike, Steady, Traffic

    rate = _number(args, "writes_per_second", low=0, above=True)
    item_kb = _number(args, "item_kb", low=0, high=400, above=True)
    invocation_ms = _number(args, "invocation_ms", low=0)
    record_ms = _number(args, "record_ms", low=0)
    failure_rate = _number(args, "failure_rate", low=0, high=0.99)
    reads = _number(args, "reads_per_second", low=0)
    table_gb = _number(args, "table_gb", low=0)
    target = _number(args, "target_age", low=0, above=True)
    seed = _number(args, "seed", low=0, integer=True)
    assert rate is not None and item_kb is not None and invocation_ms is not None
    assert record_ms is not None and failure_rate is not None and reads is not None
    assert table_gb is not None and target is not None and seed is not None
    if invocation_ms == 0 and record_ms == 0:
        raise CliError("--invocation-ms and --record-ms cannot both be 0: a function takes time")
    duration = parse_duration(args.duration)
    if not 1 <= duration <= MAX_DURATION:
        raise CliError(f"--duration must be 1s..7d, got {args.duration!r}")

    traffic: Traffic
    shape = args.traffic.strip().lower()
    if shape == "steady":
        traffic = Steady(rate)
    elif shape == "daily":
        traffic = DailyCurve(rate)
    elif shape == "spike":
        peak = _number(args, "spike_writes_per_second", low=0, above=True)
        if peak is None:
            raise CliError("--traffic spike needs --spike-writes-per-second")
        start = parse_duration(args.spike_at, "--spike-at")
        length = parse_duration(args.spike_for, "--spike-for")
        traffic = Spike(rate, peak, start, length)
    else:
        raise CliError(f"--traffic must be steady, daily or spike, got {args.traffic!r}")

    if args.app_dir:
        config, memory_mb, architecture = _mapping_from_app(args)
        source = f"mapping from {args.app_dir}"
    else:
        if args.mapping:
            raise CliError("--mapping goes with --app-dir")
        config = MappingConfig(
            uuid="plan",
            function_arn=placeholder_arn("lambda", "function:planned"),
            event_source_arn=STREAM_ARN,
            # StreamProcessor's defaults: bisect on, partial batch responses on, an
            # SQS on-failure queue; no batching window and a parallelization
            # factor of 1, Lambda's (MappingConfig's).
            batch_size=PROCESSOR_BATCH_SIZE,
            retry_attempts=PROCESSOR_RETRY_ATTEMPTS,
            max_record_age=float(PROCESSOR_MAX_RECORD_AGE_SECONDS),
            bisect_batch_on_error=True,
            report_batch_item_failures=True,
            on_failure=_destination(_PROCESSOR_ON_FAILURE),
        )
        memory_mb, architecture = PROCESSOR_MEMORY_MB, PROCESSOR_ARCHITECTURE
        source = "StreamProcessor defaults"
    changes: dict[str, Any] = {}
    batch = _number(args, "batch_size", low=BATCH_SIZE[0], high=BATCH_SIZE[1], integer=True)
    if batch is not None:
        changes["batch_size"] = int(batch)
    window = _number(
        args,
        "window_seconds",
        low=MAX_BATCHING_WINDOW_SECONDS[0],
        high=MAX_BATCHING_WINDOW_SECONDS[1],
    )
    if window is not None:
        changes["max_batching_window"] = window
    factor = _number(
        args,
        "parallelization",
        low=PARALLELIZATION_FACTOR[0],
        high=PARALLELIZATION_FACTOR[1],
        integer=True,
    )
    if factor is not None:
        changes["parallelization_factor"] = int(factor)
    retries = _number(
        args, "retry_attempts", low=0, high=RETRY_ATTEMPTS[1], integer=True, also=(UNLIMITED,)
    )
    if retries is not None:
        changes["retry_attempts"] = int(retries)
    age = _number(
        args,
        "max_record_age",
        low=MAX_RECORD_AGE_SECONDS[0],
        high=MAX_RECORD_AGE_SECONDS[1],
        also=(UNLIMITED,),
    )
    if age is not None:
        changes["max_record_age"] = None if age == UNLIMITED else age
    if args.on_failure is not None:
        changes["on_failure"] = _destination(args.on_failure)
    config = replace(config, **changes)
    memory = _number(args, "memory_mb", low=MEMORY_SIZE_MB[0], high=MEMORY_SIZE_MB[1], integer=True)
    if memory is not None:
        memory_mb = int(memory)
    if args.architecture is not None:
        architecture = args.architecture.strip().lower()
    if architecture not in ARCHITECTURES:
        raise CliError(f"--architecture must be {_ARCHITECTURE_CHOICES}, got {architecture!r}")

    plan = Plan(
        traffic=traffic,
        shards=ShardModel(item_kb=item_kb, reads_per_second=reads, table_gb=table_gb),
        handler=HandlerModel(
            invocation_ms=invocation_ms, record_ms=record_ms, failure_rate=failure_rate
        ),
        config=config,
        duration=int(duration),
        memory_mb=memory_mb,
        architecture=architecture,
        seed=int(seed),
    )
    result, outcome = run_plan(plan)
    advice = recommend(plan, target)
    if args.plot:
        from ..simulation.plot import draw

        draw(result, args.plot, title=f"{rate:g} writes/s, {_settings_line(config)}")
    settings = {
        "source": source,
        "batch_size": config.batch_size,
        "window_seconds": config.max_batching_window,
        "parallelization": config.parallelization_factor,
        "memory_mb": memory_mb,
        "architecture": architecture,
        "retry_attempts": config.retry_attempts,
        "max_record_age": config.max_record_age,
        "bisect": config.bisect_batch_on_error,
        "report_batch_item_failures": config.report_batch_item_failures,
        "on_failure": config.on_failure,
    }
    if args.json:
        document = {
            "inputs": {
                "writes_per_second": rate,
                "traffic": shape,
                "item_kb": item_kb,
                "invocation_ms": invocation_ms,
                "record_ms": record_ms,
                "failure_rate": failure_rate,
                "duration_seconds": int(duration),
                "target_age_seconds": target,
            },
            "settings": settings,
            **outcome.to_dict(),
            "recommendation": {
                "found": advice.found,
                "parallelization": advice.parallelization_factor,
                "batch_size": advice.batch_size,
                "window_seconds": advice.max_batching_window,
                "iterator_age_p99_seconds": (
                    round(advice.outcome.iterator_age_p99_seconds, 3) if advice.outcome else None
                ),
                "monthly_cost_usd": advice.outcome.monthly_cost_usd if advice.outcome else None,
                "reason": advice.reason,
            },
            "series": _series(result),
        }
        print(json.dumps(document, indent=2))
        return 0
    print(
        f"plan: {rate:g} writes/s ({shape}) of {item_kb:g} KB items for {args.duration}; "
        f"function {invocation_ms:g} ms + {record_ms:g} ms/record, {memory_mb} MB {architecture}"
    )
    print(f"mapping ({source}): {_settings_line(config)}")
    print()
    for line in table(outcome):
        print(line)
    print()
    if advice.found and advice.outcome is not None:
        same = (
            advice.parallelization_factor == config.parallelization_factor
            and advice.batch_size == config.batch_size
        )
        verdict = "keeps up" if same else "recommended"
        print(
            f"{verdict}: parallelization {advice.parallelization_factor}, batch size "
            f"{advice.batch_size}, window {advice.max_batching_window:g} s -> p99 iterator age "
            f"{format_seconds(advice.outcome.iterator_age_p99_seconds)} (target {target:g} s), "
            f"${advice.outcome.monthly_cost_usd:,.2f}/month"
        )
        print(f"  because {advice.reason}")
    else:
        print(f"no recommendation: {advice.reason}")
    if args.plot:
        print(f"plot: {args.plot}")
    return 0


def _series(result: Any, step: float = 60.0) -> dict[str, Any]:
    """Per-minute iterator age (max) and concurrency (peak) over the simulated window."""
    recorder = result.recorder
    per = max(1, round(step / recorder.bucket))
    buckets = min(len(recorder.age_max), math.ceil(result.duration / recorder.bucket))
    ages, peaks = [], []
    for start in range(0, buckets, per):
        ages.append(round(max(recorder.age_max[start : start + per]), 3))
        peaks.append(max(recorder.peak[start : start + per]))
    return {"step_seconds": per * recorder.bucket, "iterator_age_max": ages, "concurrency": peaks}


def _settings_line(config: Any) -> str:
    age = "none" if config.max_record_age is None else f"{config.max_record_age:g} s"
    return (
        f"batch {config.batch_size}, window {config.max_batching_window:g} s, "
        f"parallelization {config.parallelization_factor}, retries {config.retry_attempts}, "
        f"max age {age}, on-failure {destination_kind(config.on_failure) or 'none'}"
    )


def _destination(kind: str) -> str | None:
    value = kind.strip().lower()
    if value == "none":
        return None
    if value not in DESTINATIONS:
        raise CliError(f"--on-failure must be {_ON_FAILURE_CHOICES}, got {kind!r}")
    return placeholder_arn(value, "planned-dlq")
