"""`make demo`: deploy the sample app into the local cloud and stream a day of orders.

The day: 20 orders placed, 30 updates (payments, shipping, a price fix), and
7 cancellations. One update marks an order ``poison: true``; the sample
handler fails on it, so after its retries it ends up in the on-failure queue
while every other change is processed.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from ..streams.counts import MappingCounts
from .cloud import LocalCloud, LocalCloudError

_serialize = TypeSerializer().serialize

#: The sample app's StreamProcessor (in the repository's app.py): the demo writes
#: to its table and expects its handler to fail the poison order.
SAMPLE_PROCESSOR = "ProcessOrderChanges"

Write = tuple[str, dict[str, Any]]  # ("put", item) or ("delete", key)


def day_of_orders() -> list[Write]:
    """The scripted day: 57 changes, in the order they are written.

    20 INSERTs, 30 MODIFYs (one of them the poison record) and 7 REMOVEs.
    """
    orders: dict[str, dict[str, Any]] = {}
    writes: list[Write] = []

    def put(order: dict[str, Any]) -> None:
        orders[order["orderId"]] = dict(order)
        writes.append(("put", dict(order)))

    for n in range(1, 21):
        put(
            {
                "orderId": f"o-{n:03d}",
                "customerId": f"c-{(n * 7) % 11:02d}",
                "status": "PLACED",
                "total": Decimal(f"{10 + n * 3}.50"),
            }
        )
    for n in range(1, 16):  # 15 payments
        put({**orders[f"o-{n:03d}"], "status": "PAID"})
    for n in range(1, 11):  # 10 shipments
        put({**orders[f"o-{n:03d}"], "status": "SHIPPED"})
    for n in (2, 4, 6, 8):  # 4 price corrections
        order = orders[f"o-{n:03d}"]
        put({**order, "total": order["total"] - Decimal("1.00")})
    # The poison record: an update the handler refuses on purpose.
    put({**orders["o-012"], "poison": True})
    for n in (14, 15, 16, 17, 18, 19, 20):  # 7 cancellations
        writes.append(("delete", {"orderId": f"o-{n:03d}"}))
    return writes


@dataclass
class DemoResult:
    """What the demo wrote, what the mapping did, and what reached the on-failure queue."""

    written: int
    counts: MappingCounts
    on_failure: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def in_on_failure(self) -> int:
        """Records described by the on-failure messages (their batch sizes)."""
        return sum(int(m["DDBStreamBatchInfo"]["batchSize"]) for m in self.on_failure)

    @property
    def lost(self) -> int:
        """Written changes neither processed, filtered out, nor reported on-failure."""
        return self.written - self.counts.succeeded - self.counts.filtered - self.in_on_failure

    def summary(self) -> str:
        events = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.by_event.items()))
        return (
            f"processed {self.counts.succeeded} records ({events}); "
            f"failed {self.in_on_failure} -> on-failure queue; lost {self.lost}"
        )


class DemoLog:
    """The handler's log as the demo shows it.

    Verbose: every line. Quiet (the default): only the error of the first
    failed invocation (one traceback, the poison record's), and at the end a
    count of the failed invocations not shown.

    :param out: receives the lines shown.
    :param verbose: show every line. @default False.
    """

    def __init__(self, out: Callable[[str], None], *, verbose: bool = False) -> None:
        self._out = out
        self.verbose = verbose
        self._invocation: list[str] = []
        self.failed_invocations = 0
        self.shown = 0

    def __call__(self, function_name: str, line: str) -> None:
        if self.verbose:
            self._out(f"  | {line}")
            return
        if line.startswith("START RequestId:"):
            self._invocation = []
        elif line.startswith("REPORT RequestId:"):
            self._finish(self._invocation)
            self._invocation = []
        elif not line.startswith("END RequestId:"):
            self._invocation.append(line)

    def _finish(self, lines: list[str]) -> None:
        first_error = next(
            (i for i, line in enumerate(lines) if "[ERROR]" in line or "Traceback" in line), None
        )
        if first_error is None:
            return
        self.failed_invocations += 1
        if self.shown == 0:
            self.shown = 1
            for line in lines[first_error:]:
                self._out(f"  | {line}")

    def summary(self) -> str | None:
        """The line about failed invocations not shown, or None."""
        hidden = self.failed_invocations - self.shown
        if self.verbose or hidden <= 0:
            return None
        return (
            f"({hidden} more failed invocation(s) of the same record, its retries and "
            "bisections, not shown; --verbose shows the whole handler log)"
        )


def is_sample_app(app_dir: Path) -> bool:
    """Whether ``app_dir`` holds the repository's sample app: a ``cdk.json`` that runs
    ``app.py``, and an ``app.py`` that builds the ``ProcessOrderChanges``
    StreamProcessor on the bundled sample handler (``StreamHandlerCode.sample()``).

    Read from the source, not synthesized: a user's app must be refused before
    anything deploys. The stack name alone would not do: the README's own app is
    an ``OrdersStack`` too, with the user's handler.
    """
    try:
        command = json.loads((app_dir / "cdk.json").read_text(encoding="utf-8")).get("app")
        tree = ast.parse((app_dir / "app.py").read_text(encoding="utf-8"))
    except (OSError, ValueError, SyntaxError, AttributeError):
        return False
    if not isinstance(command, str) or "app.py" not in command:
        return False
    return any(_builds_the_sample_processor(node) for node in ast.walk(tree))


def _builds_the_sample_processor(node: ast.AST) -> bool:
    """``StreamProcessor(scope, "ProcessOrderChanges", ..., code=StreamHandlerCode.sample())``."""
    if not isinstance(node, ast.Call) or _name(node.func) != "StreamProcessor":
        return False
    ids = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "id")]
    code = [k.value for k in node.keywords if k.arg == "code"]
    return (
        any(isinstance(i, ast.Constant) and i.value == SAMPLE_PROCESSOR for i in ids)
        and len(code) == 1
        and isinstance(code[0], ast.Call)
        and isinstance(code[0].func, ast.Attribute)
        and code[0].func.attr == "sample"
        and _name(code[0].func.value) == "StreamHandlerCode"
    )


def _name(node: ast.expr) -> str | None:
    """The name called: ``StreamProcessor`` in ``StreamProcessor(...)`` and in
    ``cdk_streams.StreamProcessor(...)``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def run_demo(
    app_dir: str | Path = ".",
    *,
    out: Callable[[str], None] = print,
    progress: Callable[[str], None] | None = None,
    verbose: bool = False,
) -> DemoResult:
    """Deploy ``app_dir`` (the sample app) locally, write the day, drain, and report.

    :param app_dir: the directory with the sample app's cdk.json. @default ".".
    :param out: where the handler's log and the results go. @default print.
    :param progress: where progress messages go. @default - stderr.
    :param verbose: show the handler's whole log. @default False: only the
        poison record's error, once.
    :raises LocalCloudError: ``app_dir`` is not the sample app (:func:`is_sample_app`):
        the day, and what the demo expects of it, are the sample handler's.
    """
    if not is_sample_app(Path(app_dir)):
        raise LocalCloudError(
            f"{Path(app_dir).resolve()} is not this repository's sample app, which the demo "
            "runs (`make demo` in a clone of cdk-streams); for your own app, use "
            "`cdk-streams local up`"
        )
    say = progress or (lambda message: print(message, file=sys.stderr, flush=True))
    started = time.monotonic()
    log = DemoLog(out, verbose=verbose)

    with LocalCloud(log_sink=log, progress=say) as cloud:
        say(f"local cloud at {cloud.endpoint_url}")
        deployment = cloud.deploy(cwd=app_dir)
        table = deployment.table_name("Orders")
        queue_url = deployment.queue_url("DeadLetterQueue")
        writes = day_of_orders()
        say(f"writing {len(writes)} changes to {table} ...")
        ddb = cloud.client("dynamodb")
        for kind, item in writes:
            dynamo = {name: _serialize(value) for name, value in item.items()}
            if kind == "put":
                ddb.put_item(TableName=table, Item=dynamo)
            else:
                ddb.delete_item(TableName=table, Key=dynamo)
        poison = next(item for _, item in writes if item.get("poison") is True)
        out(
            f"expect one failure: order {poison['orderId']} is marked poison=true, so the "
            "handler fails it on purpose; Lambda retries it, then sends it to the on-failure "
            "queue while every other change is processed"
        )
        out("handler log:" if verbose else "handler errors:")
        report = cloud.drain()
        counts = report.totals
        messages = list(cloud.queue_messages(queue_url))
        if len(report.mappings) != 1:
            raise LocalCloudError(
                f"demo: expected the sample app's one mapping, found {len(report.mappings)}"
            )
    result = DemoResult(len(writes), counts, messages, time.monotonic() - started)
    hidden = log.summary()
    if hidden:
        out(hidden)
    out("")
    out(f"mapping: {report.mappings[0].counts}")
    for message in messages:
        info = message["DDBStreamBatchInfo"]
        out(
            f"on-failure queue: {message['requestContext']['condition']} after "
            f"{message['requestContext']['approximateInvokeCount']} invocation(s); "
            f"shard {info['shardId']}, sequence numbers {info['startSequenceNumber']}"
            f"..{info['endSequenceNumber']} ({info['batchSize']} record(s))"
        )
    out(result.summary())
    return result
