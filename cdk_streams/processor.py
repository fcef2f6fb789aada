"""StreamProcessor: a Lambda function and its event-source mapping on a table's
stream, with safe defaults that aws-cdk-lib's ``DynamoEventSource`` leaves opt-in."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Never

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_event_sources import S3OnFailureDestination, SnsDlq, SqsDlq
from constructs import Construct

from . import acknowledgements, table_stream
from . import prop_types as t
from . import validation as v
from .alarms import (
    DEAD_LETTER_QUEUE_AGE,
    DEAD_LETTER_QUEUE_DEPTH,
    ON_FAILURE_ARCHIVED,
    AlarmThresholds,
    StreamAlarms,
    check_actions,
    check_alarm_name_prefix,
    check_thresholds,
)
from .bundling import DEFAULT_ARCHITECTURE, StreamHandlerCode, newest_python_runtime
from .dashboard import StreamDashboard
from .failure_archive import FAILURE_DESTINATIONS, FailureArchive
from .filter_view_type import check_filters_view_type
from .handler_code import HANDLER_DIR_CONTEXT, HANDLER_DIR_METADATA
from .handler_metrics import namespace_of, processing_lag, record_failures, records
from .idempotency_table import IdempotencyTable, check_idempotency
from .log_encryption import table_key_for_logs
from .streams import settings as limits
from .streams.settings import (
    ARCHITECTURES,
    PROCESSOR_BATCH_SIZE,
    PROCESSOR_MAX_RECORD_AGE_SECONDS,
    PROCESSOR_MEMORY_MB,
    PROCESSOR_RETRY_ATTEMPTS,
)

__all__ = ["StreamProcessor", "newest_python_runtime"]

DEFAULT_BATCH_SIZE = PROCESSOR_BATCH_SIZE
DEFAULT_RETRY_ATTEMPTS = PROCESSOR_RETRY_ATTEMPTS
DEFAULT_MAX_RECORD_AGE = Duration.seconds(PROCESSOR_MAX_RECORD_AGE_SECONDS)
DEFAULT_MEMORY_SIZE = PROCESSOR_MEMORY_MB
DEFAULT_TIMEOUT = Duration.seconds(60)
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
#: Lambda allows 5 layers per function.
MAX_LAYERS = 5
#: Ids of the synth warnings for ``on_failure=SqsDlq(queue)`` and
#: ``on_failure=S3OnFailureDestination(bucket)``; acknowledge one with
#: ``Annotations.of(processor).acknowledge_warning(SQS_DLQ_WARNING)``.
SQS_DLQ_WARNING = "cdk-streams:onFailureQueueHidden"
S3_DESTINATION_WARNING = "cdk-streams:onFailureBucketHidden"
#: Wrapper type -> (warning id, wrapper, what it hides, the alarms left out).
_HIDDEN_DESTINATIONS: dict[type, tuple[str, str, str, str]] = {
    SqsDlq: (
        SQS_DLQ_WARNING,
        "SqsDlq",
        "queue",
        f"{DEAD_LETTER_QUEUE_DEPTH} or {DEAD_LETTER_QUEUE_AGE} alarm and no queue on the dashboard",
    ),
    S3OnFailureDestination: (
        S3_DESTINATION_WARNING,
        "S3OnFailureDestination",
        "bucket",
        f"{ON_FAILURE_ARCHIVED} alarm",
    ),
}
#: Lambda's function-name limit and characters (a name, not an ARN).
FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]+")
MAX_FUNCTION_NAME = 64
MAX_DESCRIPTION = 256

_STREAM_POSITIONS = (lambda_.StartingPosition.TRIM_HORIZON, lambda_.StartingPosition.LATEST)
_METRIC_PERIOD = Duration.minutes(1)
_COUNT_PERIOD = Duration.minutes(5)


class StreamProcessor(Construct):
    """Processes every change on a table's stream with a Lambda function.

    The table may be a :class:`StreamTable`'s ``.table``, an ``aws_dynamodb.Table``
    with ``stream=``, a ``TableV2`` with ``dynamo_stream=``, a table from another
    stack, or one imported with ``Table.from_table_attributes(table_stream_arn=...)``;
    it must have a stream.

    :param kinesis_stream: consume this Kinesis data stream, which the table
        streams its changes to (``StreamTable(create_kinesis_stream=True)``),
        instead of the table's DynamoDB stream. Same mapping props, same
        validation, and the bundled runtime reads both record shapes.
        @default - the table's DynamoDB stream.

    **The function** -- choose one; leaving all out is an error, so the
    bundled sample never ends up on your data by accident:

    :param handler_dir: a directory of your handler code. The bundled
        ``stream_runtime`` package is added to the asset, so the code can
        ``import stream_runtime``, and a ``requirements.txt`` in it is
        installed into the asset for the function's platform. Bundled locally:
        no Docker.
    :param handler: ``"module.function"`` inside ``handler_dir``. Required with
        it; the module must define or assign the function at module level
        (checked by parsing it, never by importing it).
    :param code: a :class:`StreamHandlerCode`: ``StreamHandlerCode.sample()``
        for the bundled Orders sample, or ``from_directory(...)`` (the same as
        ``handler_dir``/``handler``, plus ``pip_options``).
    :param function: an existing ``IFunction`` to attach the mapping to; build
        its code with ``StreamHandlerCode.from_directory`` to keep
        ``stream_runtime`` bundled. The function props below must then be unset.

    **Function settings** (for the function this construct creates):

    :param runtime: a Python ``aws_lambda.Runtime``. @default - the newest
        Python runtime this aws-cdk-lib knows (cdk-nag's AwsSolutions-L1 wants
        it); pin it (``Runtime.PYTHON_3_13``) so an aws-cdk-lib upgrade does not
        change your function.
    :param architecture: ``Architecture.ARM_64`` or ``X86_64``. @default ARM_64:
        the bundled runtime is pure Python, and arm64 costs about 20 % less per
        GB-second. Choose X86_64 when a dependency only ships x86_64 wheels.
    :param memory_size: MB, 128..10240. @default 256, because 128 MB also gets
        the smallest CPU share and slows decoding of large batches.
    :param timeout: 1..900 s. @default 60 s: a stream batch of 100 records has
        room to finish, and a stuck invocation does not hold the shard for 15 min.
    :param environment: str -> str environment variables. @default - none.
    :param log_retention: an ``aws_logs.RetentionDays``.
        @default ONE_MONTH, because logs kept forever are a cost nobody chose.
        The log group is encrypted with the table's customer-managed key when
        the table has one (the key's policy then lets CloudWatch Logs use it).
    :param tracing: an ``aws_lambda.Tracing``. @default ACTIVE, to see where
        batch time goes.
    :param layers: up to 5 ``ILayerVersion``. @default - none.
    :param vpc: run the function in this ``ec2.IVpc`` (to reach private
        resources). @default - none: outside a VPC, which reaches DynamoDB
        Streams without NAT or VPC endpoints.
    :param vpc_subnets: an ``ec2.SubnetSelection``; needs ``vpc``.
        @default - the VPC's private subnets (CDK's default).
    :param security_groups: ``ec2.ISecurityGroup`` list; needs ``vpc``.
        @default - one created by CDK, all outbound allowed.
    :param reserved_concurrent_executions: 1..1000000. @default - none: the
        account's unreserved pool. A stream mapping runs at most one batch per
        shard times ``parallelization_factor`` at once, so reserve that much if
        other functions may exhaust the pool. (0 would stop processing: use
        ``enabled=False``.)
    :param function_name: 1..64 letters, digits, ``-`` and ``_``. @default - a
        name CloudFormation generates, so two stacks never clash.
    :param description: up to 256 characters. @default - none.
    :param idempotency: True to create an :class:`IdempotencyTable` for the
        runtime's ``IdempotencyGuard`` (exposed as ``idempotency_table``).
        @default False: records are processed at least once, as Lambda does.

    **The mapping** (validated at synth against the service's limits):

    :param batch_size: records per invocation, 1..10000. @default 100 (the
        service default).
    :param max_batching_window: wait to fill a batch, 0..300 s. @default - none
        (0 s): invoke as soon as records arrive.
    :param starting_position: TRIM_HORIZON or LATEST. @default TRIM_HORIZON, so
        changes written before the mapping exists are not silently skipped.
    :param retry_attempts: -1 (until the record expires) or 0..10000.
        @default 10. The service default is -1, which lets one poison record
        block its shard for the stream's whole 24 h retention.
    :param max_record_age: 60 s..7 days, or None for no limit. @default 1 hour,
        for the same reason, and because the on-failure record only points at
        the stream: a bounded age leaves 23 h to replay the skipped range.
    :param bisect_batch_on_error: split a failing batch to isolate the bad
        record. @default True; bisecting does not use up retries.
    :param parallelization_factor: concurrent batches per shard, 1..10.
        @default 1. Higher values keep per-key order but not per-shard order.
    :param report_batch_item_failures: let the handler report the first failed
        record so Lambda retries from there, not from the batch's start.
        @default True (the bundled runtime reports failures this way).
    :param filters: up to 5 ``FilterCriteria.filter(...)`` patterns, each valid
        JSON of at most 4096 characters, on images the stream carries (an
        ``OldImage`` filter on a ``NEW_IMAGE`` stream is refused when the view
        type is known at synth). Non-matching records are dropped.
        @default - every record is delivered.
    :param tumbling_window: aggregate state across invocations, 0..900 s.
        @default - none.
    :param enabled: @default True.
    :param on_failure: where Lambda records a batch it gives up on: an
        ``IEventSourceDlq`` (``SqsDlq``, ``SnsDlq``, ``S3OnFailureDestination``),
        or simply an ``sqs.IQueue``, ``sns.ITopic`` or ``s3.IBucket``, which is
        wrapped in the matching one. @default - a new SQS queue, encrypted with
        the AWS-managed ``alias/aws/sqs`` KMS key, TLS-only, kept 14 days,
        exposed as ``dead_letter_queue``.
    :param dead_letter_queue_enabled: False to have no on-failure destination at
        all when ``on_failure`` is not given: skipped batches then leave no trace.
        @default True.
    :param event_count_metrics: turn on the mapping's event-count metrics
        (``MetricsConfig: [EventCount]``: polled, filtered out, invoked, failed,
        dropped and on-failure-delivered events). @default True: DroppedEventCount
        is the only metric that counts records lost without a trace, and it
        exists only with this on. (CloudWatch bills these as custom metrics.)
    :param failure_destination: ``"sqs"`` or ``"s3"``: what this construct
        creates when ``on_failure`` is not given. ``"s3"`` creates a
        :class:`~cdk_streams.failure_archive.FailureArchive` bucket (exposed as
        ``failure_archive``) that keeps whole skipped batches, records included,
        with an ``Alarms/OnFailureArchived`` alarm (it needs
        ``event_count_metrics``). @default "sqs", because the
        queue's alarms come from standard SQS metrics and the skipped data stays
        in the table's stream instead of being copied; choose "s3" when a
        skipped batch may not be replayed within the stream's 24 h.

    **Alarms and dashboard** (see :mod:`cdk_streams.alarms`):

    :param alarms_enabled: create the ``Alarms`` construct (a
        :class:`StreamAlarms`). @default True, because a stream consumer that
        falls behind or loses batches is otherwise silent until the data is gone.
    :param alarm_thresholds: an :class:`AlarmThresholds`. @default
        ``AlarmThresholds()``.
    :param alarm_topic: an SNS topic told on ALARM and on OK. @default - none:
        the alarms only change state; add a topic to be paged.
    :param alarm_actions: more ``aws_cloudwatch.IAlarmAction`` run on ALARM.
        @default - none.
    :param alarm_name_prefix: names the alarms ``<prefix>-<alarm id>``, 1..200
        printable characters. @default - none: CloudFormation generates the
        names, which say nothing in a page (see :class:`StreamAlarms`).
    :param dashboard_enabled: also create a :class:`StreamDashboard` (id
        ``Dashboard``) for this table and processor. @default False, because a
        dashboard costs money beyond the free three per account and teams
        usually build one per service: add ``pipeline_widgets`` to it instead.

    Exposes ``function``, ``event_source_mapping``, ``dead_letter_queue`` (the
    queue this construct made; None when you pass ``on_failure`` or turn it
    off), ``on_failure_queue`` (that queue, or the queue you passed as
    ``on_failure``), ``on_failure_bucket`` (the failure archive's bucket, or
    the bucket you passed as ``on_failure``), ``log_group`` and ``role`` (None with ``function=``),
    ``idempotency_table`` (an :class:`IdempotencyTable`, None unless turned
    on), ``table``, ``max_record_age`` (as given; None for no limit), ``alarms``
    (None when turned off), ``dashboard`` (None unless turned on) and the
    ``metric_*()`` methods. ``metric_processing_lag()``, ``metric_records()``
    and ``metric_record_failures()`` read the bundled runtime's per-batch
    metrics line: a ``function=`` that does not run the bundled runtime has no
    data for them (nor for the ``RecordFailures`` alarm).

    The function gets a role of its own that may write only to its own log
    group, instead of the AWS-managed ``AWSLambdaBasicExecutionRole`` (which
    may write to every log group). The cdk-nag and checkov findings that are
    inherent to a stream consumer are acknowledged on the exact resources, with
    reasons; see :mod:`cdk_streams.acknowledgements` and ``docs/security.md``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table: dynamodb.ITable,
        kinesis_stream: kinesis.IStream | None = None,
        function: lambda_.IFunction | None = None,
        code: StreamHandlerCode | None = None,
        handler_dir: str | Path | None = None,
        handler: str | None = None,
        runtime: lambda_.Runtime | None = None,
        architecture: lambda_.Architecture | None = None,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays | None = None,
        tracing: lambda_.Tracing | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        reserved_concurrent_executions: int | None = None,
        function_name: str | None = None,
        description: str | None = None,
        idempotency: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batching_window: Duration | None = None,
        starting_position: lambda_.StartingPosition = lambda_.StartingPosition.TRIM_HORIZON,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        max_record_age: Duration | None = DEFAULT_MAX_RECORD_AGE,
        bisect_batch_on_error: bool = True,
        parallelization_factor: int = 1,
        report_batch_item_failures: bool = True,
        filters: Sequence[Mapping[str, Any]] | None = None,
        tumbling_window: Duration | None = None,
        enabled: bool = True,
        on_failure: lambda_.IEventSourceDlq | sqs.IQueue | sns.ITopic | s3.IBucket | None = None,
        dead_letter_queue_enabled: bool = True,
        event_count_metrics: bool = True,
        failure_destination: str = "sqs",
        alarms_enabled: bool = True,
        alarm_thresholds: AlarmThresholds | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarm_actions: Sequence[cloudwatch.IAlarmAction] | None = None,
        alarm_name_prefix: str | None = None,
        dashboard_enabled: bool = False,
        **unknown: Never,
    ) -> None:
        super().__init__(scope, id)
        t.reject_unknown(self, unknown)
        inner = getattr(table, "table", None)
        if not hasattr(table, "table_name") and hasattr(inner, "table_name"):
            # StreamTable(...) itself instead of its .table: the likeliest slip.
            raise t.fail(
                self,
                "table",
                "an aws_dynamodb.ITable",
                table,
                shown=f"{type(table).__name__} {table.node.path}; pass its .table",
            )
        t.check_interface(self, "table", table, "table_name", "an aws_dynamodb.ITable")
        if table is None:
            raise t.fail(self, "table", "an aws_dynamodb.ITable", table)
        t.check_interface(
            self, "kinesis_stream", kinesis_stream, "stream_arn", "an aws_kinesis.IStream"
        )
        if kinesis_stream is not None:
            table_stream.check_kinesis_stream(self, table, kinesis_stream)
        self.table = table
        self.kinesis_stream = kinesis_stream
        stream_arn = (
            self._stream_arn(table) if kinesis_stream is None else kinesis_stream.stream_arn
        )
        self._validate_mapping(
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            starting_position=starting_position,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            parallelization_factor=parallelization_factor,
            filters=filters,
            tumbling_window=tumbling_window,
        )
        #: Read by StreamAlarms (IStreamProcessor.max_record_age) to bound its
        #: IteratorAge threshold.
        self.max_record_age: Duration | None = max_record_age
        for prop, flag in (
            ("bisect_batch_on_error", bisect_batch_on_error),
            ("report_batch_item_failures", report_batch_item_failures),
            ("enabled", enabled),
            ("dead_letter_queue_enabled", dead_letter_queue_enabled),
            ("event_count_metrics", event_count_metrics),
        ):
            t.check_bool(self, prop, flag)
        check_idempotency(self, idempotency, function)
        if on_failure is not None and dead_letter_queue_enabled is False:
            # One of the two would be silently ignored.
            raise v.StreamsValidationError(
                f"{self.node.path}: dead_letter_queue_enabled=False turns the on-failure "
                "destination off, so it must not be combined with on_failure; got both "
                "(keep on_failure for a destination of your own, or drop it for none)"
            )
        on_failure_destination, given_queue, given_bucket = self._on_failure(on_failure)
        self._validate_alarms(
            alarms_enabled=alarms_enabled,
            alarm_thresholds=alarm_thresholds,
            alarm_topic=alarm_topic,
            alarm_actions=alarm_actions,
            alarm_name_prefix=alarm_name_prefix,
            dashboard_enabled=dashboard_enabled,
            max_record_age=max_record_age,
        )

        self.log_group: logs.LogGroup | None = None
        self.role: iam.Role | None = None
        # The props that configure a function this construct creates; with
        # function= they must be unset.
        function_props: dict[str, Any] = {
            "code": code,
            "handler_dir": handler_dir,
            "handler": handler,
            "runtime": runtime,
            "architecture": architecture,
            "memory_size": memory_size,
            "timeout": timeout,
            "environment": environment,
            "log_retention": log_retention,
            "tracing": tracing,
            "layers": layers,
            "vpc": vpc,
            "vpc_subnets": vpc_subnets,
            "security_groups": security_groups,
            "reserved_concurrent_executions": reserved_concurrent_executions,
            "function_name": function_name,
            "description": description,
        }
        if function is not None:
            t.check_interface(self, "function", function, "function_arn", "an aws_lambda.IFunction")
            self._refuse_with_function(**function_props)
            if function.role is None:
                # An imported function without its role cannot be granted
                # anything; CDK would fail with "Cannot get policy fragment".
                raise v.StreamsValidationError(
                    f"{self.node.path}: function must have a role that can be granted stream "
                    f"read, got {function.node.path} imported without one. Import it with "
                    "Function.from_function_attributes(function_arn=..., role=...)"
                )
            self.function: lambda_.IFunction = function
        else:
            self.function = self._create_function(**function_props)
        self.idempotency_table: IdempotencyTable | None = None
        if idempotency:
            assert isinstance(self.function, lambda_.Function)
            self.idempotency_table = IdempotencyTable(
                self, "IdempotencyTable", function=self.function
            )
        self._metrics_namespace = namespace_of(environment)

        self.failure_archive = self._failure_archive(
            failure_destination, on_failure, dead_letter_queue_enabled, event_count_metrics
        )
        self.on_failure_bucket: s3.IBucket | None = given_bucket
        if self.failure_archive is not None:
            on_failure_destination = self.failure_archive.destination
            self.on_failure_bucket = self.failure_archive.bucket

        self.dead_letter_queue: sqs.Queue | None = None
        self.on_failure_queue: sqs.IQueue | None = given_queue
        if on_failure_destination is None and dead_letter_queue_enabled:
            # The on-failure record only names the shard and sequence range of
            # the skipped batch, so 14 days (the SQS maximum) keeps that trail
            # as long as possible.
            self.dead_letter_queue = sqs.Queue(
                self,
                "DeadLetterQueue",
                # The AWS-managed KMS key rather than SQS-managed SSE: the same
                # protection at no key cost, and scanners (checkov CKV_AWS_27)
                # recognize it. Lambda sends with the function's role, which
                # that key's policy admits through SQS.
                encryption=sqs.QueueEncryption.KMS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            self.on_failure_queue = self.dead_letter_queue
            on_failure_destination = SqsDlq(self.dead_letter_queue)

        if kinesis_stream is None:
            table.grant_stream_read(self.function)
            if isinstance(table, dynamodb.TableBaseV2):
                # TableV2's grant puts dynamodb:ListStreams on the stream ARN, and
                # that action takes no resource-level permission, so IAM never
                # allows it (aws-cdk#34575). Lambda's stream poller needs it:
                # grant it on "*", as Table's grant_stream_read does.
                self.function.add_to_role_policy(
                    iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"])
                )
        else:
            kinesis_stream.grant_read(self.function)
        self.event_count_metrics = event_count_metrics
        # aws-cdk-lib range-checks max_record_age with arithmetic that a CDK token
        # (a CfnParameter's value) fails, so a token goes straight on the L1 below.
        record_age_token = max_record_age is not None and max_record_age.is_unresolved()
        self.event_source_mapping = lambda_.EventSourceMapping(
            self,
            "EventSourceMapping",
            target=self.function,
            event_source_arn=stream_arn,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            starting_position=starting_position,
            retry_attempts=retry_attempts,
            max_record_age=None if record_age_token else max_record_age,
            bisect_batch_on_error=bisect_batch_on_error,
            parallelization_factor=parallelization_factor,
            report_batch_item_failures=report_batch_item_failures,
            filters=list(filters) if filters is not None else None,
            tumbling_window=tumbling_window,
            enabled=enabled,
            on_failure=on_failure_destination,
            metrics_config=(
                lambda_.MetricsConfig(metrics=[lambda_.MetricType.EVENT_COUNT])
                if event_count_metrics
                else None
            ),
        )
        if record_age_token:
            # Escape hatch: no L2 prop takes a token MaximumRecordAgeInSeconds
            # (validation made sure the token is in seconds).
            mapping = self.event_source_mapping.node.default_child
            assert isinstance(mapping, lambda_.CfnEventSourceMapping)
            mapping.maximum_record_age_in_seconds = max_record_age.to_seconds()  # type: ignore[union-attr]

        self.alarms: StreamAlarms | None = None
        if alarms_enabled:
            # StreamAlarms reads max_record_age from the processor, as it does
            # when built on its own.
            self.alarms = StreamAlarms(
                self,
                "Alarms",
                processor=self,
                thresholds=alarm_thresholds,
                alarm_topic=alarm_topic,
                alarm_actions=alarm_actions,
                alarm_name_prefix=alarm_name_prefix,
            )
        self.dashboard: StreamDashboard | None = None
        if dashboard_enabled:
            self.dashboard = StreamDashboard(self, "Dashboard", processor=self)
        # Last, so that the findings are decided on the finished resources.
        acknowledgements.acknowledge_processor(self)

    # -- metrics -------------------------------------------------------------
    # Each takes aws_cloudwatch.MetricOptions keywords (period, statistic,
    # label ...) over the defaults shown.

    def metric_iterator_age(self, **options: Any) -> cloudwatch.Metric:
        """Age in ms of the last record of each batch when it was read; Maximum per minute.

        Lambda emits it only while records flow: an idle stream has no data.
        """
        return self._function_metric("IteratorAge", "Maximum", _METRIC_PERIOD, options)

    def metric_invocations(self, **options: Any) -> cloudwatch.Metric:
        """Batches the function was invoked with; Sum per minute."""
        return self._function_metric("Invocations", "Sum", _METRIC_PERIOD, options)

    def metric_errors(self, **options: Any) -> cloudwatch.Metric:
        """Invocations that raised or timed out; Sum per 5 minutes."""
        return self._function_metric("Errors", "Sum", _COUNT_PERIOD, options)

    def metric_throttles(self, **options: Any) -> cloudwatch.Metric:
        """Throttled invocations; Sum per 5 minutes."""
        return self._function_metric("Throttles", "Sum", _COUNT_PERIOD, options)

    def metric_duration(self, **options: Any) -> cloudwatch.Metric:
        """Invocation time in ms; p99 per minute."""
        return self._function_metric("Duration", "p99", _METRIC_PERIOD, options)

    def metric_destination_delivery_failures(self, **options: Any) -> cloudwatch.Metric:
        """Batches Lambda failed to write to the on-failure destination; Sum per 5 minutes.

        Those records are gone: they are also counted in DroppedEventCount.
        """
        return self._function_metric("DestinationDeliveryFailures", "Sum", _COUNT_PERIOD, options)

    def metric_polled_events(self, **options: Any) -> cloudwatch.Metric:
        """Records the mapping read from the stream (``PolledEventCount``)."""
        return self._mapping_metric("PolledEventCount", options)

    def metric_filtered_out_events(self, **options: Any) -> cloudwatch.Metric:
        """Records the filters dropped (``FilteredOutEventCount``)."""
        return self._mapping_metric("FilteredOutEventCount", options)

    def metric_invoked_events(self, **options: Any) -> cloudwatch.Metric:
        """Records the function was invoked with (``InvokedEventCount``)."""
        return self._mapping_metric("InvokedEventCount", options)

    def metric_failed_invoke_events(self, **options: Any) -> cloudwatch.Metric:
        """Records in invocations that failed (``FailedInvokeEventCount``)."""
        return self._mapping_metric("FailedInvokeEventCount", options)

    def metric_dropped_events(self, **options: Any) -> cloudwatch.Metric:
        """Records neither processed nor delivered on failure (``DroppedEventCount``).

        Records that age out of the 24 h stream are counted nowhere: only the
        IteratorAge alarm guards against that.
        """
        return self._mapping_metric("DroppedEventCount", options)

    def metric_on_failure_delivered_events(self, **options: Any) -> cloudwatch.Metric:
        """Records sent to the on-failure destination.

        (``OnFailureDestinationDeliveredEventCount``.)
        """
        return self._mapping_metric("OnFailureDestinationDeliveredEventCount", options)

    def metric_on_failure_queue_depth(self, **options: Any) -> cloudwatch.Metric:
        """Skipped batches waiting in the on-failure queue; Maximum per 5 minutes."""
        queue = self._queue("metric_on_failure_queue_depth")
        return queue.metric_approximate_number_of_messages_visible(
            **{"statistic": "Maximum", "period": _COUNT_PERIOD, **options}
        )

    def metric_on_failure_queue_age(self, **options: Any) -> cloudwatch.Metric:
        """Age in s of the oldest skipped batch in the on-failure queue; Maximum per 5 minutes."""
        queue = self._queue("metric_on_failure_queue_age")
        return queue.metric_approximate_age_of_oldest_message(
            **{"statistic": "Maximum", "period": _COUNT_PERIOD, **options}
        )

    def _function_metric(
        self, name: str, statistic: str, period: Duration, options: dict[str, Any]
    ) -> cloudwatch.Metric:
        return self.function.metric(name, **{"statistic": statistic, "period": period, **options})

    def _mapping_metric(self, name: str, options: dict[str, Any]) -> cloudwatch.Metric:
        # Lambda publishes these per mapping, under its UUID; the L2 mapping
        # offers no metric() of its own.
        return cloudwatch.Metric(
            **{
                "namespace": "AWS/Lambda",
                "metric_name": name,
                "dimensions_map": {
                    "EventSourceMappingUUID": self.event_source_mapping.event_source_mapping_id
                },
                "statistic": "Sum",
                "period": _COUNT_PERIOD,
                **options,
            }
        )

    def _queue(self, method: str) -> sqs.IQueue:
        if self.on_failure_queue is None:
            raise v.StreamsValidationError(
                f"{self.node.path}: {method}() needs an SQS on-failure queue, got none "
                "(dead_letter_queue_enabled=False, or on_failure is not a queue)"
            )
        return self.on_failure_queue

    # The bundled runtime's per-batch EMF line (cdk_streams.handler_metrics):
    # namespace from the function's STREAM_METRICS_NAMESPACE, dimension
    # FunctionName. A function= that does not run the bundled runtime's
    # StreamRouter (or runs it with STREAM_METRICS=off) writes no such line, so
    # these metrics have no data; with function=, the namespace is the
    # runtime's default, CdkStreams.

    def metric_processing_lag(self, **options: Any) -> cloudwatch.Metric:
        """The bundled runtime's ``ProcessingLag`` (ms, now minus the batch's oldest
        record when the batch starts); Maximum per minute."""
        return processing_lag(self.function, self._metrics_namespace, **options)

    def metric_records(self, **options: Any) -> cloudwatch.Metric:
        """The bundled runtime's ``Records``: records handed to the handler; Sum per 5 minutes."""
        return records(self.function, self._metrics_namespace, **options)

    def metric_record_failures(self, **options: Any) -> cloudwatch.Metric:
        """The bundled runtime's ``Failures``: records reported in ``batchItemFailures``;
        Sum per 5 minutes.

        With ``report_batch_item_failures`` a failing record is reported, not
        raised, so Lambda's ``Errors`` stays 0 while it is retried: this is the
        metric that counts it. The first failed record and every later one of
        its batch are reported, so one bad record can count many times. Only a
        function running the bundled runtime's ``StreamRouter`` emits it (not
        with ``STREAM_METRICS=off``); for a ``function=`` the namespace is the
        runtime's default, ``CdkStreams``.
        """
        return record_failures(self.function, self._metrics_namespace, **options)

    # -- parts -------------------------------------------------------------

    def _on_failure(
        self, value: Any
    ) -> tuple[lambda_.IEventSourceDlq | None, sqs.IQueue | None, s3.IBucket | None]:
        """The destination to give the mapping, and the queue or bucket behind it when known."""
        if value is None:
            return None, None, None
        if _has(value, "queue_arn"):
            return SqsDlq(value), value, None
        if _has(value, "topic_arn"):
            return SnsDlq(value), None, None
        if _has(value, "bucket_arn"):
            return S3OnFailureDestination(value), None, value
        hidden = _HIDDEN_DESTINATIONS.get(type(value))
        if hidden is not None:
            # These wrappers keep their queue or bucket private, so its alarms
            # would be left out without a word; say so at synth, where it can be fixed.
            warning_id, wrapper, target, missing = hidden
            Annotations.of(self).add_warning_v2(
                warning_id,
                f"on_failure={wrapper}({target}) hides the {target} from this construct: "
                f"there is no {missing}. Pass the {target} itself (on_failure={target}); it "
                f"is wrapped in {wrapper} for you.",
            )
        if callable(getattr(value, "bind", None)):
            return value, None, None
        raise t.fail(
            self,
            "on_failure",
            "an aws_lambda.IEventSourceDlq (SqsDlq(queue), SnsDlq(topic), "
            "S3OnFailureDestination(bucket)) or an sqs.IQueue, sns.ITopic or s3.IBucket",
            value,
        )

    def _failure_archive(
        self,
        destination: Any,
        on_failure: Any,
        dead_letter_queue_enabled: bool,
        event_count_metrics: bool,
    ) -> FailureArchive | None:
        if destination not in FAILURE_DESTINATIONS:
            raise v.StreamsValidationError(
                f"{self.node.path}: failure_destination must be one of "
                f"{', '.join(FAILURE_DESTINATIONS)}, got {destination!r}"
            )
        if destination != "s3":
            return None
        if on_failure is not None or not dead_letter_queue_enabled:
            given = "on_failure" if on_failure is not None else "dead_letter_queue_enabled=False"
            raise v.StreamsValidationError(
                f"{self.node.path}: failure_destination='s3' creates the on-failure "
                f"destination, so it must not be combined with {given}; got both"
            )
        if not event_count_metrics:
            # Its alarm counts OnFailureDestinationDeliveredEventCount, an EventCount metric.
            raise v.StreamsValidationError(
                f"{self.node.path}: failure_destination='s3' needs event_count_metrics=True "
                "(its alarm counts the mapping's on-failure deliveries), got "
                "event_count_metrics=False"
            )
        return FailureArchive(self, "FailureArchive")

    def _validate_alarms(
        self,
        *,
        alarms_enabled: Any,
        alarm_thresholds: Any,
        alarm_topic: Any,
        alarm_actions: Any,
        alarm_name_prefix: Any,
        dashboard_enabled: Any,
        max_record_age: Duration | None,
    ) -> None:
        t.check_bool(self, "alarms_enabled", alarms_enabled)
        t.check_bool(self, "dashboard_enabled", dashboard_enabled)
        if not alarms_enabled:
            # Thresholds or targets for alarms that are not built would be
            # silently ignored; say so instead.
            v.check_unset(
                self,
                {
                    "alarm_actions": alarm_actions,
                    "alarm_name_prefix": alarm_name_prefix,
                    "alarm_thresholds": alarm_thresholds,
                    "alarm_topic": alarm_topic,
                },
                "with alarms_enabled=False",
                "; to build the alarms yourself, pass these to StreamAlarms(scope, id, "
                "processor=...) instead (alarm_thresholds as thresholds)",
            )
            return
        check_thresholds(self, "alarm_thresholds", alarm_thresholds, max_record_age)
        check_actions(self, alarm_topic=alarm_topic, alarm_actions=alarm_actions)
        check_alarm_name_prefix(self, "alarm_name_prefix", alarm_name_prefix)

    def _stream_arn(self, table: dynamodb.ITable) -> str:
        if table_stream.is_table_v2(table) and not table_stream.has_stream(table):
            # TableV2 always offers a stream-ARN token; the deploy would fail.
            raise v.StreamsValidationError(
                f"{self.node.path}: table must be a table with a stream, got a TableV2 "
                "without one. Pass dynamo_stream=StreamViewType.NEW_AND_OLD_IMAGES to "
                "aws_dynamodb.TableV2"
            )
        stream_arn = getattr(table, "table_stream_arn", None)
        if not stream_arn:
            raise v.StreamsValidationError(
                f"{self.node.path}: table must be a table with a stream, got one without. "
                "Create it with StreamTable, pass stream=StreamViewType.NEW_AND_OLD_IMAGES "
                "to aws_dynamodb.Table (dynamo_stream= to aws_dynamodb.TableV2), or import it "
                "with Table.from_table_attributes(table_arn=..., table_stream_arn=...)"
            )
        return stream_arn

    def _validate_mapping(
        self,
        *,
        batch_size: Any,
        max_batching_window: Any,
        starting_position: Any,
        retry_attempts: Any,
        max_record_age: Any,
        parallelization_factor: Any,
        filters: Any,
        tumbling_window: Any,
    ) -> None:
        v.check_int_range(self, "batch_size", batch_size, limits.BATCH_SIZE)
        v.check_duration_range(
            self, "max_batching_window", max_batching_window, limits.MAX_BATCHING_WINDOW_SECONDS
        )
        if starting_position not in _STREAM_POSITIONS:
            raise v.StreamsValidationError(
                f"{self.node.path}: starting_position must be TRIM_HORIZON or LATEST, "
                f"got {getattr(starting_position, 'name', repr(starting_position))}"
            )
        v.check_retry_attempts(self, retry_attempts)
        v.check_max_record_age(self, max_record_age)
        v.check_int_range(
            self, "parallelization_factor", parallelization_factor, limits.PARALLELIZATION_FACTOR
        )
        v.check_duration_range(
            self, "tumbling_window", tumbling_window, limits.TUMBLING_WINDOW_SECONDS
        )
        v.check_filters(
            self, filters, source="dynamodb" if self.kinesis_stream is None else "kinesis"
        )
        if self.kinesis_stream is None:
            # Kinesis change records always carry both images.
            view_type = table_stream.view_type(self.table)
            if view_type is not None:
                check_filters_view_type(self, filters, view_type)

    def _refuse_with_function(self, **given: Any) -> None:
        v.check_unset(
            self,
            dict(sorted(given.items())),
            "with function=",
            "; they configure the function this construct would create: set them on your "
            "function instead",
        )

    def _handler_code(
        self, code: Any, handler_dir: str | Path | None, handler: str | None
    ) -> StreamHandlerCode:
        if code is not None:
            if not isinstance(code, StreamHandlerCode):
                raise t.fail(
                    self,
                    "code",
                    "a StreamHandlerCode (StreamHandlerCode.sample() or "
                    "StreamHandlerCode.from_directory(dir, handler=...))",
                    code,
                )
            if handler_dir is not None or handler is not None:
                raise v.StreamsValidationError(
                    f"{self.node.path}: handler_dir and handler must be left unset with code=, "
                    "got both code= and handler_dir/handler; pass one of them"
                )
            return code
        if handler_dir is None:
            if handler is not None:
                raise v.StreamsValidationError(
                    f"{self.node.path}: handler must be given with handler_dir, got "
                    f"handler={handler!r} without it"
                )
            raise v.StreamsValidationError(
                f"{self.node.path}: handler_dir or function must be set, got neither. Pass "
                "handler_dir='src' with handler='module.function' for your code "
                "(stream_runtime is bundled in), or function=<your aws_lambda.IFunction> "
                "(build its code with StreamHandlerCode.from_directory). For the bundled "
                "Orders sample, pass code=StreamHandlerCode.sample()"
            )
        return StreamHandlerCode._checked(self.node.path, handler_dir, handler, None)

    def _validate_function_settings(
        self,
        *,
        runtime: Any,
        architecture: Any,
        environment: Any,
        log_retention: Any,
        tracing: Any,
        layers: Any,
        vpc: Any,
        vpc_subnets: Any,
        security_groups: Any,
        reserved_concurrent_executions: Any,
        function_name: Any,
        description: Any,
    ) -> None:
        if runtime is not None and not (
            isinstance(runtime, lambda_.Runtime) and runtime.family == lambda_.RuntimeFamily.PYTHON
        ):
            raise t.fail(
                self,
                "runtime",
                "a Python aws_lambda.Runtime (e.g. Runtime.PYTHON_3_13): the handler runtime "
                "is Python",
                getattr(runtime, "name", runtime),
            )
        if architecture is not None and not (
            isinstance(architecture, lambda_.Architecture) and architecture.name in ARCHITECTURES
        ):
            raise t.fail(
                self, "architecture", "Architecture.ARM_64 or Architecture.X86_64", architecture
            )
        t.check_string_map(self, "environment", environment)
        t.check_instance(
            self,
            "log_retention",
            log_retention,
            logs.RetentionDays,
            "an aws_logs.RetentionDays (e.g. RetentionDays.ONE_MONTH)",
        )
        t.check_instance(
            self, "tracing", tracing, lambda_.Tracing, "an aws_lambda.Tracing (e.g. Tracing.ACTIVE)"
        )
        t.check_sequence_of(
            self, "layers", layers, "layer_version_arn", "aws_lambda.ILayerVersion", MAX_LAYERS
        )
        t.check_interface(self, "vpc", vpc, "vpc_id", "an aws_ec2.IVpc")
        t.check_instance(
            self, "vpc_subnets", vpc_subnets, ec2.SubnetSelection, "an ec2.SubnetSelection"
        )
        t.check_sequence_of(
            self, "security_groups", security_groups, "security_group_id", "ec2.ISecurityGroup"
        )
        if vpc is None:
            v.check_unset(
                self,
                {"security_groups": security_groups, "vpc_subnets": vpc_subnets},
                "without vpc",
                hint="; pass vpc= as well",
            )
        v.check_int_range(
            self, "reserved_concurrent_executions", reserved_concurrent_executions, (1, 1_000_000)
        )
        t.check_text(
            self,
            "function_name",
            function_name,
            MAX_FUNCTION_NAME,
            FUNCTION_NAME,
            "letters, digits, '-' or '_'",
        )
        t.check_text(self, "description", description, MAX_DESCRIPTION)

    def _create_function(
        self,
        *,
        code: Any,
        handler_dir: str | Path | None,
        handler: str | None,
        runtime: lambda_.Runtime | None,
        architecture: lambda_.Architecture | None,
        memory_size: int | None,
        timeout: Duration | None,
        environment: Mapping[str, str] | None,
        log_retention: logs.RetentionDays | None,
        tracing: lambda_.Tracing | None,
        layers: Sequence[lambda_.ILayerVersion] | None,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        reserved_concurrent_executions: int | None,
        function_name: str | None,
        description: str | None,
    ) -> lambda_.Function:
        memory_size = DEFAULT_MEMORY_SIZE if memory_size is None else memory_size
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        v.check_int_range(self, "memory_size", memory_size, limits.MEMORY_SIZE_MB, "MB")
        v.check_duration_range(self, "timeout", timeout, v.TIMEOUT_SECONDS)
        self._validate_function_settings(
            runtime=runtime,
            architecture=architecture,
            environment=environment,
            log_retention=log_retention,
            tracing=tracing,
            layers=layers,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
            reserved_concurrent_executions=reserved_concurrent_executions,
            function_name=function_name,
            description=description,
        )
        handler_code = self._handler_code(code, handler_dir, handler)
        runtime = runtime or newest_python_runtime()
        architecture = architecture or DEFAULT_ARCHITECTURE
        asset = handler_code._code(self.node.path, runtime, architecture)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention or DEFAULT_LOG_RETENTION,
            encryption_key=table_key_for_logs(self.table),
        )
        # A role of our own instead of the managed AWSLambdaBasicExecutionRole,
        # which may create and write to every log group in the account: this
        # one may only write to the function's own log group.
        self.role = iam.Role(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Runs the stream processor: reads its stream, writes its logs",
        )
        self.log_group.grant_write(self.role)
        if vpc is not None:
            # What the managed AWSLambdaVPCAccessExecutionRole would grant:
            # the function's network interfaces in the VPC.
            self.role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSLambdaVPCAccessExecutionRole"
                )
            )
        function = lambda_.Function(
            self,
            "Function",
            runtime=runtime,
            architecture=architecture,
            code=asset,
            handler=handler_code.handler,
            memory_size=memory_size,
            timeout=timeout,
            environment=dict(environment or {}),
            tracing=tracing or lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            layers=list(layers) if layers is not None else None,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=list(security_groups) if security_groups is not None else None,
            reserved_concurrent_executions=reserved_concurrent_executions,
            function_name=function_name,
            description=description,
        )
        if handler_dir is not None and self.node.try_get_context(HANDLER_DIR_CONTEXT) in (
            True,
            "true",
        ):
            # Where the code comes from, for the local cloud's reload on edit. Relative
            # to the app directory (where the CDK CLI runs the app).
            source = os.path.relpath(Path(handler_dir).resolve(), Path.cwd())
            cfn = function.node.default_child
            if isinstance(cfn, lambda_.CfnFunction):
                cfn.add_metadata(HANDLER_DIR_METADATA, source)
        return function


def _has(value: Any, attribute: str) -> bool:
    return not isinstance(value, (str, bytes, int, float)) and hasattr(value, attribute)
