"""Throughput of `redrive` and `backfill` against the local cloud's emulator.

Deploys tests/fixtures/ops_app once. Anchors measured in the same run:

* redrive from SQS: reading the same ranges back from the stream with no delivery
  (what every SQS redrive has to do first);
* backfill: the same parallel scan with no delivery.

Each command is timed with a local handler (in this process) and with the
deployed function (invoked through Lambda's API, run by the local cloud's
worker processes).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from cdk_streams.local import LocalCloud
from cdk_streams.operations.backfill import Backfill
from cdk_streams.operations.on_failure_source import S3Source, SqsSource, parse_on_failure_record
from cdk_streams.operations.redrive import Redrive
from cdk_streams.operations.stream_range import fetch_range
from cdk_streams.operations.targets import FunctionTarget, LocalHandlerTarget
from cdk_streams.streams.on_failure import FailedBatch, destination_record, s3_key, s3_object
from cdk_streams.streams.records import lambda_record

APP = Path(__file__).resolve().parents[1] / "fixtures" / "ops_app"
RANGES = 50  # on-failure messages per redrive run
PER_RANGE = 10  # records per message (the mapping's batch size)
ITEMS = 2000  # items per backfill run
SEGMENTS = 4


def _failed_batch(records: list[dict[str, Any]], stream_arn: str, shard: str) -> FailedBatch:
    return FailedBatch(
        mapping_uuid="bench",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
        stream_arn=stream_arn,
        shard_id=shard,
        records=records,
        condition="RetryAttemptsExhausted",
        invoke_count=1,
        request_id="r",
        function_error=None,
        failed_at=time.time(),
    )


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} records/s ({count} in {seconds:.2f} s)"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ops-") as tmp:
        state = Path(tmp)
        with LocalCloud(poll_interval=0.25) as cloud:
            started = time.perf_counter()
            deployment = cloud.deploy(
                cwd=APP, env={"CDK_STREAMS_STATE_DIR": str(state), "CDK_VALIDATION": "false"}
            )
            print(f"deploy: {time.perf_counter() - started:.1f} s")
            import os

            os.environ["STATE_DIR"] = str(state)
            clients = cloud.client
            ddb, sqs, s3 = clients("dynamodb"), clients("sqs"), clients("s3")
            local = LocalHandlerTarget(APP / "handler", "ops.handler")
            orders = deployment.table_name("OrdersTable")
            function = FunctionTarget(clients("lambda"), deployment.function_name("OrdersFunction"))

            # The stream records to replay: written to Orders (its mapping processes them).
            total = RANGES * PER_RANGE
            for n in range(total):
                ddb.put_item(TableName=orders, Item={"pk": {"S": f"rd-{n:05d}"}})
            cloud.drain()
            stream_arn = ddb.describe_table(TableName=orders)["Table"]["LatestStreamArn"]
            streams = clients("dynamodbstreams")
            shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0][
                "ShardId"
            ]
            iterator = streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            raw = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"][:total]
            records = [lambda_record(r, stream_arn=stream_arn) for r in raw]
            batches = [
                _failed_batch(records[i : i + PER_RANGE], stream_arn, shard)
                for i in range(0, total, PER_RANGE)
            ]

            def fill_queue() -> str:
                url = sqs.create_queue(QueueName=f"bench-{time.monotonic_ns()}")["QueueUrl"]
                for batch in batches:
                    sqs.send_message(
                        QueueUrl=url, MessageBody=json.dumps(destination_record(batch))
                    )
                return url

            # Anchor: read every range back, deliver nothing.
            infos = [parse_on_failure_record(destination_record(b)) for b in batches]
            started = time.perf_counter()
            fetched = sum(len(fetch_range(clients, info).records) for info in infos)
            anchor = time.perf_counter() - started
            print(f"anchor, ranges read back from the stream: {_rate(fetched, anchor)}")

            for name, target in (("local handler", local), ("deployed function", function)):
                url = fill_queue()
                started = time.perf_counter()
                report = Redrive(SqsSource(sqs, url, wait_seconds=0), target, clients).run()
                seconds = time.perf_counter() - started
                assert report.succeeded == total and report.removed == RANGES, report
                print(
                    f"redrive SQS -> {name}: {_rate(total, seconds)}; "
                    f"{anchor / seconds:.2f}x the read-back anchor"
                )

            bucket = "bench-failures"
            s3.create_bucket(Bucket=bucket)
            for index, batch in enumerate(batches):
                s3.put_object(
                    Bucket=bucket,
                    Key=s3_key(batch, object_id=str(index)),
                    Body=json.dumps(s3_object(batch)),
                )
            started = time.perf_counter()
            report = Redrive(S3Source(s3, bucket, "aws/lambda/"), local, clients).run()
            seconds = time.perf_counter() - started
            assert report.succeeded == total, report
            print(f"redrive S3 -> local handler: {_rate(total, seconds)}")

            # Backfill: ITEMS items in Catalog.
            catalog = deployment.table_name("CatalogTable")
            for n in range(ITEMS):
                ddb.put_item(
                    TableName=catalog,
                    Item={
                        "pk": {"S": f"bf-{n:05d}"},
                        "version": {"N": "1"},
                        "body": {"S": "x" * 200},
                    },
                )
            cloud.drain()
            started = time.perf_counter()
            scanned = 0
            for segment in range(SEGMENTS):
                kwargs: dict[str, Any] = {
                    "TableName": catalog,
                    "Segment": segment,
                    "TotalSegments": SEGMENTS,
                    "Limit": 100,
                }
                while True:
                    page = ddb.scan(**kwargs)
                    scanned += len(page["Items"])
                    if "LastEvaluatedKey" not in page:
                        break
                    kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            anchor = time.perf_counter() - started
            print(
                f"anchor, the same 4-segment scan, one segment after another, no delivery: {_rate(scanned, anchor)}"
            )
            for name, target in (("local handler", local), ("deployed function", function)):
                started = time.perf_counter()
                result = Backfill(
                    clients,
                    catalog,
                    target,
                    segments=SEGMENTS,
                    batch_size=100,
                    checkpoint=state / f"cp-{time.monotonic_ns()}.json",
                ).run()
                seconds = time.perf_counter() - started
                assert result.succeeded == result.items >= ITEMS, result
                print(
                    f"backfill -> {name} ({SEGMENTS} segments at once): "
                    f"{_rate(result.items, seconds)}; {anchor / seconds:.2f}x the scan anchor"
                )


if __name__ == "__main__":
    main()
