"""An event-source mapping's settings, in one vocabulary: the construct's prop names.

:class:`MappingConfig` names every setting as ``StreamProcessor`` does
(``batch_size``, ``max_batching_window``, ``retry_attempts``,
``max_record_age``, ``bisect_batch_on_error``, ...), with durations in
seconds. :data:`API_NAMES` is the one place that maps those names to Lambda's
API and CloudFormation names (``MaximumRetryAttempts`` ...);
:meth:`MappingConfig.from_api` and :meth:`MappingConfig.from_cloudformation`
read through it.

Defaults are Lambda's own for a stream mapping (not the construct's safer
ones): a mapping read back from AWS with a setting left out behaves as Lambda
would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .arns import resource_name

# The filter grammar and the record shapes are imported where they are used: the
# CLI builds its help from the limits here, and every command would load them.
if TYPE_CHECKING:
    from .records import RecordShape

#: Lambda's limits for DynamoDB and Kinesis stream mappings (AWS Lambda developer
#: guide, "Event source mappings"), as (low, high). Written here, with no CDK, so
#: synth validation and the capacity planner check the same ranges.
BATCH_SIZE = (1, 10_000)
MAX_BATCHING_WINDOW_SECONDS = (0, 300)
RETRY_ATTEMPTS = (-1, 10_000)
MAX_RECORD_AGE_SECONDS = (60, 604_800)
PARALLELIZATION_FACTOR = (1, 10)
TUMBLING_WINDOW_SECONDS = (0, 900)
#: The mapped function's memory in MB (a function limit, priced by the planner).
MEMORY_SIZE_MB = (128, 10_240)
#: The mapped function's instruction set, in Lambda's names.
ARCHITECTURES = ("x86_64", "arm64")
#: Lambda's value meaning "no limit" for MaximumRetryAttempts and MaximumRecordAgeInSeconds.
UNLIMITED = -1
#: Lambda's defaults for a setting a stream mapping or its function leaves out,
#: in its API's form: retries and record age default to :data:`UNLIMITED`.
LAMBDA_BATCH_SIZE = 100
LAMBDA_MAX_BATCHING_WINDOW_SECONDS = 0
LAMBDA_PARALLELIZATION_FACTOR = 1
LAMBDA_MEMORY_MB = 128
LAMBDA_ARCHITECTURE = "x86_64"
#: StreamProcessor's defaults (its safer ones, not Lambda's), written here with
#: no CDK so that the capacity planner prices and simulates what the construct
#: deploys.
PROCESSOR_BATCH_SIZE = 100
PROCESSOR_RETRY_ATTEMPTS = 10
PROCESSOR_MAX_RECORD_AGE_SECONDS = 3600
PROCESSOR_MEMORY_MB = 256
PROCESSOR_ARCHITECTURE = "arm64"

#: Each setting's name in Lambda's API and in ``AWS::Lambda::EventSourceMapping``.
API_NAMES: Mapping[str, str] = {
    "uuid": "UUID",
    "function_arn": "FunctionArn",
    "event_source_arn": "EventSourceArn",
    "starting_position": "StartingPosition",
    "batch_size": "BatchSize",
    "max_batching_window": "MaximumBatchingWindowInSeconds",
    "retry_attempts": "MaximumRetryAttempts",
    "max_record_age": "MaximumRecordAgeInSeconds",
    "bisect_batch_on_error": "BisectBatchOnFunctionError",
    "report_batch_item_failures": "FunctionResponseTypes",
    "parallelization_factor": "ParallelizationFactor",
    "tumbling_window": "TumblingWindowInSeconds",
    "filters": "FilterCriteria",
    "on_failure": "DestinationConfig",
    "enabled": "State",
}


@dataclass(frozen=True)
class MappingConfig:
    """One event-source mapping: what it connects and how it delivers.

    :param uuid: the mapping's id (Lambda's ``UUID``).
    :param function_arn: the function it invokes.
    :param event_source_arn: a DynamoDB stream or Kinesis data stream ARN.
    :param starting_position: ``TRIM_HORIZON`` or ``LATEST``. @default TRIM_HORIZON.
    :param batch_size: records per invocation at most. @default 100.
    :param max_batching_window: seconds to wait to fill a batch. @default 0.
    :param retry_attempts: retries of a failing batch; -1 retries until the
        records expire. @default -1.
    :param max_record_age: seconds after which a record is skipped; None for no
        limit. @default None.
    :param bisect_batch_on_error: split a failing batch in two. @default False.
    :param report_batch_item_failures: read partial batch responses. @default False.
    :param parallelization_factor: concurrent batches per shard. @default 1.
        Kept for readers of the settings; the delivery rules here run one batch
        per shard at a time.
    :param tumbling_window: seconds of a tumbling window; None for none. @default None.
        The window rules are in :mod:`.tumbling_window`.
    :param filters: the filter patterns (JSON strings); a record passes when any
        matches. @default - none: every record passes.
    :param on_failure: ARN of the SQS queue, SNS topic or S3 bucket that gets
        Lambda's on-failure record. @default None.
    :param enabled: whether the mapping polls. @default True.
    """

    uuid: str
    function_arn: str
    event_source_arn: str
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = LAMBDA_BATCH_SIZE
    max_batching_window: float = float(LAMBDA_MAX_BATCHING_WINDOW_SECONDS)
    retry_attempts: int = UNLIMITED
    max_record_age: float | None = None
    bisect_batch_on_error: bool = False
    report_batch_item_failures: bool = False
    parallelization_factor: int = LAMBDA_PARALLELIZATION_FACTOR
    tumbling_window: float | None = None
    filters: tuple[str, ...] = ()
    on_failure: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        # Lambda refuses a mapping whose pattern it cannot parse at create time, so a
        # mapping read back here never runs with a filter of its own invention.
        from .filter_grammar import compile_pattern

        for pattern in self.filters:
            compile_pattern(pattern)

    @property
    def function_name(self) -> str:
        return resource_name(self.function_arn)

    @property
    def shape(self) -> RecordShape:
        """The kind of records the event source holds: DynamoDB stream or Kinesis."""
        from .records import shape_of

        return shape_of(self.event_source_arn)

    @property
    def table_name(self) -> str:
        """The table (DynamoDB stream) or stream name (Kinesis) the mapping reads."""
        return resource_name(self.event_source_arn)

    @classmethod
    def from_api(cls, mapping: Mapping[str, Any]) -> MappingConfig:
        """From one entry of Lambda's ``list_event_source_mappings()["EventSourceMappings"]``."""
        state = mapping.get(API_NAMES["enabled"], "Enabled")
        return cls._from_names(
            mapping,
            uuid=mapping[API_NAMES["uuid"]],
            function_arn=mapping[API_NAMES["function_arn"]],
            event_source_arn=mapping[API_NAMES["event_source_arn"]],
            enabled=state in ("Enabled", "Enabling", "Creating"),
        )

    @classmethod
    def from_cloudformation(
        cls,
        properties: Mapping[str, Any],
        *,
        uuid: str,
        function_arn: str,
        event_source_arn: str,
    ) -> MappingConfig:
        """From the (resolved) ``Properties`` of an ``AWS::Lambda::EventSourceMapping``.

        The template names the function and the source with intrinsics, so the
        caller passes their resolved ARNs, and the mapping's id.
        """
        return cls._from_names(
            properties,
            uuid=uuid,
            function_arn=function_arn,
            event_source_arn=event_source_arn,
            enabled=bool(properties.get("Enabled", True)),
        )

    @classmethod
    def _from_names(
        cls,
        source: Mapping[str, Any],
        *,
        uuid: str,
        function_arn: str,
        event_source_arn: str,
        enabled: bool,
    ) -> MappingConfig:
        def get(name: str) -> Any:
            return source.get(API_NAMES[name])

        retry_attempts = get("retry_attempts")
        max_record_age = get("max_record_age")
        tumbling_window = get("tumbling_window")
        return cls(
            uuid=uuid,
            function_arn=function_arn,
            event_source_arn=event_source_arn,
            starting_position=get("starting_position") or "TRIM_HORIZON",
            batch_size=int(get("batch_size") or LAMBDA_BATCH_SIZE),
            max_batching_window=float(
                get("max_batching_window") or LAMBDA_MAX_BATCHING_WINDOW_SECONDS
            ),
            retry_attempts=UNLIMITED if retry_attempts is None else int(retry_attempts),
            max_record_age=(
                None
                if max_record_age is None or int(max_record_age) == UNLIMITED
                else float(max_record_age)
            ),
            bisect_batch_on_error=bool(get("bisect_batch_on_error")),
            report_batch_item_failures=reports_batch_item_failures(
                get("report_batch_item_failures")
            ),
            parallelization_factor=int(
                get("parallelization_factor") or LAMBDA_PARALLELIZATION_FACTOR
            ),
            tumbling_window=float(tumbling_window) if tumbling_window else None,
            filters=filter_patterns(get("filters")),
            on_failure=on_failure_destination(get("on_failure")),
            enabled=enabled,
        )


def filter_patterns(criteria: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The pattern strings of a ``FilterCriteria`` object (None or empty: none)."""
    filters: Sequence[Mapping[str, Any]] = (criteria or {}).get("Filters") or ()
    return tuple(f["Pattern"] for f in filters if f.get("Pattern") is not None)


def reports_batch_item_failures(response_types: Sequence[str] | None) -> bool:
    """Whether ``FunctionResponseTypes`` asks for partial batch responses."""
    return "ReportBatchItemFailures" in (response_types or ())


def on_failure_destination(destination_config: Mapping[str, Any] | None) -> str | None:
    """The ARN in a ``DestinationConfig`` object (None, or no ``OnFailure``: none)."""
    return ((destination_config or {}).get("OnFailure") or {}).get("Destination")
