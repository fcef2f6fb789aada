"""A Docker-free local cloud: moto in this process, the real CDK CLI deploying into it,
and Lambda's DynamoDB-stream event-source mappings emulated on top.

    from cdk_streams.local import LocalCloud
    with LocalCloud() as cloud:
        cloud.deploy(cwd=app_dir)
        ...write items with cloud.client("dynamodb")...
        print(cloud.drain())

``cdk-streams local up`` (:class:`~.up.LocalUp`) runs any app this way and keeps
its mappings running until Ctrl-C.

Needs the ``local`` extra (moto[server]). Parts usable on their own:
:class:`StreamReader` (any stream, real or local), :class:`RecordFilter` (Lambda's
filter-pattern matching), :class:`FunctionRuntime` (run a handler in a worker
process as Lambda would). Lambda's stream rules themselves (settings, batching,
delivery, on-failure records, record shapes) are in :mod:`cdk_streams.streams`.
"""

from ..streams.dynamodb_reader import StreamReader
from ..streams.filter_grammar import FilterPatternError, RecordFilter, compile_pattern
from ..streams.shard_reader import ShardRecords, StreamReaderError
from .cloud import Deployment, LocalCloud, LocalCloudError, Resource
from .invoker import FunctionConfig, FunctionRuntime, InvocationResult, InvokerError
from .runner import DrainTimeout, EventSourceRunner, MappingRunner, RunnerError

__all__ = [
    "Deployment",
    "DrainTimeout",
    "EventSourceRunner",
    "FilterPatternError",
    "FunctionConfig",
    "FunctionRuntime",
    "InvocationResult",
    "InvokerError",
    "LocalCloud",
    "LocalCloudError",
    "MappingRunner",
    "RecordFilter",
    "Resource",
    "RunnerError",
    "ShardRecords",
    "StreamReader",
    "StreamReaderError",
    "compile_pattern",
]
