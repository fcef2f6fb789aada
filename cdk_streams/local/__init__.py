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
:class:`StreamReader` (any stream, real or local), :mod:`.filters` (Lambda's
filter-pattern matching), :class:`FunctionRuntime` (run a handler in a worker
process as Lambda would), :class:`ShardDelivery` (Lambda's retry rules).
"""

from .cloud import Deployment, LocalCloud, LocalCloudError, Resource
from .filters import FilterPatternError, RecordFilter, compile_pattern
from .invoker import FunctionConfig, FunctionRuntime, InvocationResult, InvokerError
from .reader import ShardRecords, StreamReader, StreamReaderError
from .runner import (
    DrainReport,
    DrainTimeout,
    EventSourceRunner,
    MappingConfig,
    MappingCounts,
    MappingReport,
    MappingRunner,
    RunnerError,
    ShardDelivery,
)

__all__ = [
    "Deployment",
    "DrainReport",
    "DrainTimeout",
    "EventSourceRunner",
    "FilterPatternError",
    "FunctionConfig",
    "FunctionRuntime",
    "InvocationResult",
    "InvokerError",
    "LocalCloud",
    "LocalCloudError",
    "MappingConfig",
    "MappingCounts",
    "MappingReport",
    "MappingRunner",
    "RecordFilter",
    "Resource",
    "RunnerError",
    "ShardDelivery",
    "ShardRecords",
    "StreamReader",
    "StreamReaderError",
    "compile_pattern",
]
