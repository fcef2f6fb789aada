"""A custom-application consumer of a table's DynamoDB stream, outside Lambda.

    from cdk_streams.consumer import Consumer, ensure_lease_table

    def process(records):                 # the runtime's ChangeRecord objects, in order
        for record in records: ...

    Consumer("Orders", lease_table="orders-app-leases", callback=process,
             create_lease_table=True).run()   # until SIGINT/SIGTERM or stop()

- :mod:`.worker`: :class:`Consumer`, the run loop; it reads with the stream
  package's DynamoDB reader, so it works against AWS and the local cloud alike.
- :mod:`.coordination` and :mod:`.leases`: one row per shard in a DynamoDB
  table; leases renewed in the background; writes fenced on owner and counter
  keep two workers off one shard; checkpoints after each batch; the rows of
  finished shards deleted once no longer needed.
- :mod:`.delivery`: calling the application, Lambda's ordered failure rules,
  retries, ``on_failure`` and the callback timeout.
- :mod:`.aws_retry`: transient AWS errors retried with backoff and jitter.
- :mod:`.runtime`: the bundled ``stream_runtime`` and Lambda handlers
  (``module.function``), imported in-process.

Delivery is at least once, in order per shard. The ``cdk-streams consume``
command runs a Lambda handler this way. See ``docs/consumer.md``.
"""

from .aws_retry import AwsRetry, AwsUnreachableError, is_transient
from .delivery import CallbackTimeoutError, DeliveryError, DeliveryFailure, raise_on_failure
from .errors import ConsumerError
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
from .stats import ConsumerStats
from .worker import Consumer, stream_arn_for_table

__all__ = [
    "AwsRetry",
    "AwsUnreachableError",
    "CallbackTimeoutError",
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
    "is_transient",
    "load_handler",
    "plan_leases",
    "raise_on_failure",
    "stream_arn_for_table",
]
