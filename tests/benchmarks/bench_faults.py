"""`make faults`: prove under injected faults that no change is lost.

Deploys tests/fixtures/faults_app (a StreamProcessor with the library's defaults and a
StreamRouter handler) into the local cloud, writes 1000 changes over 100 keys
(inserts, modifies, removes, in per-key order, interleaved with a fixed seed), and
injects faults chosen by a hash of (key, version): ~2 % poison (raise every time),
~5 % transient (raise the first time), ~1 % crash (os._exit the first time). Then it
checks every invariant of tests/fixtures/faults_app/faults_scenario.py and prints the
figures; it raises when one fails.

Alone: python tests/benchmarks/run.py bench_faults
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "faults_app"))

import faults_scenario as scenario

CHANGES, KEYS, SEED = 1000, 100, 2026


def main() -> None:
    outcome = scenario.run(
        CHANGES, KEYS, SEED, progress=lambda message: print(f"  {message}", flush=True)
    )
    f, counts, seconds = outcome.figures, outcome.counts, outcome.seconds
    print(
        f"faults injected: poison {f['poison']} (raise every time), transient {f['transient']} "
        f"(raise once), crash {f['crash']} (os._exit once); {f['faults_fired']} one-time "
        f"faults fired"
    )
    print(
        f"mapping (StreamProcessor defaults: batch 100, 10 retries, bisect, "
        f"ReportBatchItemFailures, SQS on-failure): {counts}"
    )
    print(
        f"handler log: {f['processed_lines']} lines, {f['processed_distinct']} distinct changes; "
        f"on-failure: {f['on_failure_messages']} messages, ranges cover "
        f"{f['on_failure_records']} records (batch sizes sum {f['on_failure_batch_sizes']}), "
        f"{f['poison_reported']} of {f['poison']} poison"
    )
    print(
        f"check: written {f['written']} = processed {f['processed_distinct']} "
        f"+ on-failure {f['on_failure_records']}; lost {f['lost']}"
    )
    print(
        f"time: deploy {seconds['deploy']:.1f} s, write {seconds['write']:.1f} s, "
        f"drain {seconds['drain']:.1f} s"
    )
    print(outcome.summary())
    if outcome.problems:
        raise RuntimeError("fault injection: " + "; ".join(outcome.problems))


if __name__ == "__main__":
    main()
