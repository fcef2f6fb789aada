"""The handler runtime against boto3 and Powertools: decode, typical handler, cold import.

One event of 1000 MODIFY records (NEW_AND_OLD_IMAGES, 10 attributes: S, N, BOOL,
SS, an L of M and an M), built with ``StreamEventFactory``. Numbers vary the way
orders do: every total is unique, quantities and catalogue prices repeat.

    python tests/benchmarks/run.py bench_runtime

Timings are the best of N runs (timeit-style); import times are medians of
fresh interpreters with the bare interpreter's start-up subtracted.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_SRC = ROOT / "lambda_src"
RECORDS = 1000
REPEAT = 15
IMPORT_RUNS = 9

GOAL_FULL = 0.30  # full decode, x boto3 TypeDeserializer
GOAL_TYPICAL = 0.08  # typical handler, x boto3's full decode
GOAL_IMPORT = 0.10  # cold import of the handler module, x `import boto3`


def build_event() -> dict[str, Any]:
    """1000 MODIFY records of realistic orders (about 1.6 KB each)."""
    from cdk_streams.testing import StreamEventFactory

    rng = random.Random(3)
    prices = [Decimal(f"{rng.randint(100, 9999)}") / 100 for _ in range(20)]
    factory = StreamEventFactory(key_names=("orderId",), table_name="Orders", start_time=1.8e9)

    def order(i: int, version: int, status: str) -> dict[str, Any]:
        lines = [
            {"sku": f"SKU-{rng.randint(1000, 9999)}", "qty": rng.randint(1, 5), "price": p}
            for p in rng.sample(prices, 3)
        ]
        return {
            "orderId": f"o-{i:06d}",
            "customerId": f"c-{rng.randint(1, 500):04d}",
            "status": status,
            "total": Decimal(rng.randint(1000, 99999)) / 100,
            "itemCount": sum(line["qty"] for line in lines),
            "express": rng.random() < 0.2,
            "tags": {"web", rng.choice(["gift", "priority", "b2b"])},
            "lines": lines,
            "shipping": {"street": f"{i} Main St", "city": "Springfield", "zip": "12345"},
            "version": version,
        }

    return factory.event(
        *(factory.modify(order(i, 1, "PLACED"), order(i, 2, "SHIPPED")) for i in range(RECORDS))
    )


def best_us_per_record(fn: Callable[[], object]) -> float:
    fn()  # warm caches and imports outside the timing
    return min(timeit.repeat(fn, number=1, repeat=REPEAT)) / RECORDS * 1e6


def import_ms(statement: str, env: dict[str, str]) -> float:
    """Median wall time of a fresh interpreter running ``statement``, in ms."""
    samples = []
    for _ in range(IMPORT_RUNS):
        code = (
            "import time; t = time.perf_counter(); "
            f"{statement}; print(time.perf_counter() - t)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip()) * 1000)
    return statistics.median(samples)


def startup_ms(env: dict[str, str]) -> float:
    """Median wall time of a bare interpreter start, in ms (for reference)."""
    samples = []
    for _ in range(IMPORT_RUNS):
        started = timeit.default_timer()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        samples.append((timeit.default_timer() - started) * 1000)
    return statistics.median(samples)


def verdict(ratio: float, goal: float) -> str:
    return "PASS" if ratio <= goal else "MISS"


def main() -> None:
    sys.path.insert(0, str(LAMBDA_SRC))
    from boto3.dynamodb.types import TypeDeserializer
    from stream_runtime import StreamRouter

    event = build_event()
    records = event["Records"]
    deserializer = TypeDeserializer()
    deserialize = deserializer.deserialize

    def boto3_full() -> None:
        for record in records:
            ddb = record["dynamodb"]
            {name: deserialize(value) for name, value in ddb["NewImage"].items()}
            {name: deserialize(value) for name, value in ddb["OldImage"].items()}

    full_router = StreamRouter()

    @full_router.on_modify
    def walk_both(record: Any) -> None:
        for _ in record.new_image.values():
            pass
        for _ in record.old_image.values():
            pass

    typical_router = StreamRouter()

    @typical_router.on_modify
    def typical(record: Any) -> None:
        new, old = record.new_image, record.old_image
        if new["status"] != old["status"]:
            new["total"]

    def floor() -> None:
        for record in records:
            record["eventName"]

    rows: list[tuple[str, float | None]] = [
        ("loop reading eventName only (floor)", best_us_per_record(floor)),
        ("boto3 TypeDeserializer, both images", best_us_per_record(boto3_full)),
        ("stream_runtime, router, both images walked", 0.0),
        ("stream_runtime, router, typical (3 reads)", 0.0),
        ("Powertools BatchProcessor, both images walked", None),
    ]
    boto3_us = rows[1][1]
    assert boto3_us is not None
    full_us = best_us_per_record(lambda: full_router.handler(event, None))
    typical_us = best_us_per_record(lambda: typical_router.handler(event, None))
    rows[2] = (rows[2][0], full_us)
    rows[3] = (rows[3][0], typical_us)

    powertools_note = ""
    try:
        from aws_lambda_powertools.utilities.batch import (
            BatchProcessor,
            EventType,
            process_partial_response,
        )
    except ImportError:
        powertools_note = "skipped (aws-lambda-powertools is not installed)"
    else:
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

        def powertools_walk(record: Any) -> None:
            stream = record.dynamodb
            for _ in stream.new_image.values():
                pass
            for _ in stream.old_image.values():
                pass

        rows[4] = (
            rows[4][0],
            best_us_per_record(
                lambda: process_partial_response(
                    event=event, record_handler=powertools_walk, processor=processor
                )
            ),
        )

    print(f"{RECORDS} MODIFY records, NEW_AND_OLD_IMAGES, 10 attributes; best of {REPEAT}")
    print(f"{'path':48} {'us/record':>10} {'x boto3':>8}")
    for name, us in rows:
        if us is None:
            print(f"{name:48} {powertools_note}")
        else:
            print(f"{name:48} {us:10.2f} {us / boto3_us:8.2f}")

    env = dict(os.environ, PYTHONPATH=str(LAMBDA_SRC))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # Warm the bytecode caches so both sides are measured as a deployed
    # function would be (its .pyc files are written on the first import).
    import_ms("import process_order_changes", env)
    import_ms("import boto3", env)
    handler_ms = import_ms("import process_order_changes", env)
    boto3_ms = import_ms("import boto3", env)
    # The Lambda Python runtime has imported logging and json before it loads
    # the handler; most of our import is stdlib logging, so show that case too.
    pre = "import logging, json; t = time.perf_counter()"
    handler_lambda_ms = import_ms(f"{pre}; import process_order_changes", env)
    boto3_lambda_ms = import_ms(f"{pre}; import boto3", env)
    bare_ms = startup_ms(env)
    print(
        f"\ncold import, median of {IMPORT_RUNS} fresh interpreters, timed inside the "
        f"interpreter: its start-up ({bare_ms:.1f} ms for `python -c pass`) is excluded"
    )
    print(f"{'import process_order_changes':48} {handler_ms:8.2f} ms")
    print(f"{'import boto3':48} {boto3_ms:8.2f} ms")
    print(f"{'  the same, logging+json already imported:':48}")
    print(f"{'import process_order_changes':48} {handler_lambda_ms:8.2f} ms")
    print(f"{'import boto3':48} {boto3_lambda_ms:8.2f} ms")

    ratios = [
        ("(a) full decode / boto3", full_us / boto3_us, GOAL_FULL),
        ("(b) typical handler / boto3 full decode", typical_us / boto3_us, GOAL_TYPICAL),
        ("(c) handler import / import boto3", handler_ms / boto3_ms, GOAL_IMPORT),
        (
            "(c') the same, logging+json preloaded",
            handler_lambda_ms / boto3_lambda_ms,
            GOAL_IMPORT,
        ),
    ]
    print()
    for name, ratio, goal in ratios:
        print(f"{name:48} {ratio:6.3f}  goal <= {goal:.2f}  {verdict(ratio, goal)}")


if __name__ == "__main__":
    main()
