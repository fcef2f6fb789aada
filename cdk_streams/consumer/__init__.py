"""A custom-application consumer of a table's DynamoDB stream, outside Lambda.

    from cdk_streams.consumer import Consumer, ensure_lease_table

    def process(records):                 # the runtime's ChangeRecord objects, in order
        for record in records: ...

    Consumer("Orders", lease_table="orders-app-leases", callback=process,
             create_lease_table=True).run()   # until SIGINT/SIGTERM or stop()

- :class:`Consumer` reads with the local cloud's
  :class:`~cdk_streams.local.reader.StreamReader` (lineage order, checkpoints,
  expired iterators), so it works against AWS and the local cloud alike.
- :mod:`.leases`: one row per shard in a DynamoDB table; conditional writes
  keep two workers off one shard; checkpoints after each batch.
- :mod:`.runtime`: the bundled ``stream_runtime`` and ``module:function``
  Lambda handlers, imported in-process.

Delivery is at least once, in order per shard, with the router's ordered
failure semantics. The ``cdk-streams consume`` command runs a Lambda handler
this way.
"""

from .leases import (
    Lease,
    LeasePlan,
    LeaseTable,
    LeaseTableError,
    check_lease_table,
    ensure_lease_table,
    plan_leases,
)
from .runtime import (
    ConsumerContext,
    HandlerSpecError,
    bundled_code_dir,
    change_record_class,
    ensure_runtime_importable,
    load_handler,
)
from .worker import (
    Consumer,
    ConsumerError,
    ConsumerStats,
    DeliveryError,
    DeliveryFailure,
    raise_on_failure,
    stream_arn_for_table,
)

__all__ = [
    "Consumer",
    "ConsumerContext",
    "ConsumerError",
    "ConsumerStats",
    "DeliveryError",
    "DeliveryFailure",
    "HandlerSpecError",
    "Lease",
    "LeasePlan",
    "LeaseTable",
    "LeaseTableError",
    "bundled_code_dir",
    "change_record_class",
    "check_lease_table",
    "ensure_lease_table",
    "ensure_runtime_importable",
    "load_handler",
    "plan_leases",
    "raise_on_failure",
    "stream_arn_for_table",
]
