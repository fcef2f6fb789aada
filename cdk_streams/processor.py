"""StreamProcessor: a Lambda function and its event-source mapping on a table's
stream, with safe defaults that the anchors leave opt-in."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_event_sources import SqsDlq
from constructs import Construct

from . import nag
from . import validation as v
from .alarms import AlarmThresholds, StreamAlarms, check_actions, check_thresholds
from .bundling import SAMPLE_HANDLER, handler_dir_code, sample_handler_code
from .dashboard import StreamDashboard
from .handler_metrics import namespace_of, processing_lag
from .idempotency_table import IdempotencyTable, check_idempotency

DEFAULT_BATCH_SIZE = 100
DEFAULT_RETRY_ATTEMPTS = 10
DEFAULT_MAX_RECORD_AGE = Duration.hours(1)
DEFAULT_MEMORY_SIZE = 256
DEFAULT_TIMEOUT = Duration.seconds(60)
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH

_HANDLER = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\.[A-Za-z_]\w*$")
_STREAM_POSITIONS = (lambda_.StartingPosition.TRIM_HORIZON, lambda_.StartingPosition.LATEST)


def newest_python_runtime() -> lambda_.Runtime:
    """The newest Python runtime this aws-cdk-lib knows.

    ``Runtime.determine_latest_python_runtime`` lags a release behind (it picks
    the newest available in every region), and cdk-nag's AwsSolutions-L1 wants
    the newest one.
    """
    versions = [
        (int(match.group(1)), name)
        for name in dir(lambda_.Runtime)
        if (match := re.fullmatch(r"PYTHON_3_(\d+)", name))
    ]
    return getattr(lambda_.Runtime, max(versions)[1])


class StreamProcessor(Construct):
    """Processes every change on a table's stream with a Lambda function.

    The table may be a :class:`StreamTable`'s ``.table``, a table from another
    stack, or one imported with ``Table.from_table_attributes(table_stream_arn=...)``;
    it must have a stream.

    :param kinesis_stream: consume this Kinesis data stream, which the table
        streams its changes to (``StreamTable(create_kinesis_stream=True)``),
        instead of the table's DynamoDB stream. Same mapping props, same
        validation, and the bundled runtime reads both record shapes.
        @default - the table's DynamoDB stream.

    **The function** (pick one; the bundled ProcessOrderChanges sample when neither):

    :param function: an existing ``IFunction`` to attach the mapping to.
    :param handler_dir: a directory of your handler code. The bundled
        ``stream_runtime`` package is added to the asset, so the code can
        ``import stream_runtime``. Bundled locally: no Docker.
    :param handler: ``"module.function"`` inside ``handler_dir``. Required with it.
    :param memory_size: MB, 128..10240. @default 256, because 128 MB also gets
        the smallest CPU share and slows decoding of large batches.
    :param timeout: 1..900 s. @default 60 s: a stream batch of 100 records has
        room to finish, and a stuck invocation does not hold the shard for 15 min.
    :param environment: environment variables for the function. @default - none.
    :param log_retention: how long the function's logs are kept.
        @default ONE_MONTH, because logs kept forever are a cost nobody chose.
    :param tracing: X-Ray tracing. @default ACTIVE, to see where batch time goes.
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
        JSON of at most 4096 characters. Non-matching records are dropped.
        @default - every record is delivered.
    :param tumbling_window: aggregate state across invocations, 0..900 s.
        @default - none.
    :param enabled: @default True.
    :param on_failure: where Lambda records a batch it gives up on: ``SqsDlq``,
        ``SnsDlq`` or ``S3OnFailureDestination``. @default - a new SQS queue,
        SQS-encrypted and TLS-only, kept 14 days, exposed as ``dead_letter_queue``.
    :param dead_letter_queue_enabled: False to have no on-failure destination at
        all when ``on_failure`` is not given: skipped batches then leave no trace.
        @default True.

    **Alarms and dashboard** (see :mod:`cdk_streams.alarms`):

    :param alarms_enabled: create the ``Alarms`` construct: ``Alarms/IteratorAge``,
        ``Alarms/Errors``, ``Alarms/Throttles`` and, with the queue this construct
        creates, ``Alarms/DeadLetterQueueDepth`` and ``Alarms/DeadLetterQueueAge``.
        @default True, because a stream consumer that falls behind or skips
        batches is otherwise silent until the data is gone.
    :param alarm_thresholds: an :class:`AlarmThresholds`. @default
        ``AlarmThresholds()``: IteratorAge above a quarter of ``max_record_age``
        (15 min with the defaults), any error, any throttle, any skipped batch,
        and a skipped batch left 6 h.
    :param alarm_topic: an SNS topic told on ALARM and on OK. @default - none:
        the alarms only change state; add a topic to be paged.
    :param alarm_actions: more ``aws_cloudwatch.IAlarmAction`` run on ALARM.
        @default - none.
    :param dashboard_enabled: also create a :class:`StreamDashboard` (id
        ``Dashboard``) for this table and processor. @default False, because a
        dashboard costs money beyond the free three per account and teams
        usually build one per service: add ``pipeline_widgets`` to it instead.

    Exposes ``function``, ``event_source_mapping``, ``dead_letter_queue`` (None
    when you pass ``on_failure`` or turn it off), ``log_group`` and ``role``
    (None with ``function=``), ``idempotency_table`` (an :class:`IdempotencyTable`,
    None unless turned on), ``table``, ``alarms`` (a :class:`StreamAlarms`,
    None when turned off) and ``dashboard`` (None unless turned on).

    The function gets a role of its own that may write only to its own log
    group, instead of the AWS-managed ``AWSLambdaBasicExecutionRole`` (which
    may write to every log group). The cdk-nag findings that are inherent to a
    stream consumer are acknowledged on the exact resources, with reasons; see
    :mod:`cdk_streams.nag`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table: dynamodb.ITable,
        kinesis_stream: kinesis.IStream | None = None,
        function: lambda_.IFunction | None = None,
        handler_dir: str | Path | None = None,
        handler: str | None = None,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays | None = None,
        tracing: lambda_.Tracing | None = None,
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
        on_failure: lambda_.IEventSourceDlq | None = None,
        dead_letter_queue_enabled: bool = True,
        alarms_enabled: bool = True,
        alarm_thresholds: AlarmThresholds | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarm_actions: Sequence[cloudwatch.IAlarmAction] | None = None,
        dashboard_enabled: bool = False,
    ) -> None:
        super().__init__(scope, id)
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
        self._validate_alarms(
            alarms_enabled=alarms_enabled,
            alarm_thresholds=alarm_thresholds,
            alarm_topic=alarm_topic,
            alarm_actions=alarm_actions,
            dashboard_enabled=dashboard_enabled,
            max_record_age=max_record_age,
        )

        self.log_group: logs.LogGroup | None = None
        self.role: iam.Role | None = None
        # The props that configure a function this construct creates; with
        # function= they must be unset.
        function_props: dict[str, Any] = {
            "handler_dir": handler_dir,
            "handler": handler,
            "memory_size": memory_size,
            "timeout": timeout,
            "environment": environment,
            "log_retention": log_retention,
            "tracing": tracing,
        }
        if function is not None:
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
        check_idempotency(self, idempotency, function)
        self.idempotency_table: IdempotencyTable | None = None
        if idempotency:
            assert isinstance(self.function, lambda_.Function)
            self.idempotency_table = IdempotencyTable(
                self, "IdempotencyTable", function=self.function
            )
        self._metrics_namespace = namespace_of(environment)

        self.dead_letter_queue: sqs.Queue | None = None
        if on_failure is None and dead_letter_queue_enabled:
            # The on-failure record only names the shard and sequence range of
            # the skipped batch, so 14 days (the SQS maximum) keeps that trail
            # as long as possible.
            self.dead_letter_queue = sqs.Queue(
                self,
                "DeadLetterQueue",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            on_failure = SqsDlq(self.dead_letter_queue)

        if kinesis_stream is None:
            table.grant_stream_read(self.function)
        else:
            kinesis_stream.grant_read(self.function)
        self.event_source_mapping = lambda_.EventSourceMapping(
            self,
            "EventSourceMapping",
            target=self.function,
            event_source_arn=stream_arn,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            starting_position=starting_position,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            bisect_batch_on_error=bisect_batch_on_error,
            parallelization_factor=parallelization_factor,
            report_batch_item_failures=report_batch_item_failures,
            filters=list(filters) if filters is not None else None,
            tumbling_window=tumbling_window,
            enabled=enabled,
            on_failure=on_failure,
        )
        self._acknowledge_inherent_findings(has_on_failure=on_failure is not None)

        self.alarms: StreamAlarms | None = None
        if alarms_enabled:
            self.alarms = StreamAlarms(
                self,
                "Alarms",
                function=self.function,
                dead_letter_queue=self.dead_letter_queue,
                max_record_age=max_record_age,
                thresholds=alarm_thresholds,
                alarm_topic=alarm_topic,
                alarm_actions=alarm_actions,
            )
        self.dashboard: StreamDashboard | None = None
        if dashboard_enabled:
            self.dashboard = StreamDashboard(self, "Dashboard", processor=self)

    def metric_processing_lag(self, **props: Any) -> cloudwatch.Metric:
        """The bundled runtime's ``ProcessingLag`` metric for this function (see
        :func:`cdk_streams.handler_metrics.processing_lag` for ``props``)."""
        return processing_lag(self.function, self._metrics_namespace, **props)

    # -- parts -------------------------------------------------------------

    def _validate_alarms(
        self,
        *,
        alarms_enabled: Any,
        alarm_thresholds: Any,
        alarm_topic: Any,
        alarm_actions: Any,
        dashboard_enabled: Any,
        max_record_age: Duration | None,
    ) -> None:
        for prop, value in (
            ("alarms_enabled", alarms_enabled),
            ("dashboard_enabled", dashboard_enabled),
        ):
            if not isinstance(value, bool):
                raise v.StreamsValidationError(
                    f"{self.node.path}: {prop} must be True or False, got {value!r}"
                )
        if not alarms_enabled:
            # Thresholds or targets for alarms that are not built would be
            # silently ignored; say so instead.
            given = [
                name
                for name, value in (
                    ("alarm_actions", alarm_actions),
                    ("alarm_thresholds", alarm_thresholds),
                    ("alarm_topic", alarm_topic),
                )
                if value is not None
            ]
            if given:
                raise v.StreamsValidationError(
                    f"{self.node.path}: {', '.join(given)} must be left unset with "
                    f"alarms_enabled=False, got {', '.join(given)} set"
                )
            return
        check_thresholds(self, "alarm_thresholds", alarm_thresholds, max_record_age)
        check_actions(self, alarm_topic=alarm_topic, alarm_actions=alarm_actions)

    def _acknowledge_inherent_findings(self, *, has_on_failure: bool) -> None:
        """cdk-nag findings that come with any stream consumer (see :mod:`.nag`).

        Only on resources this construct created: a function passed in with
        ``function=`` and its role are the user's to judge.
        """
        if self.role is not None:
            default_policy = self.role.node.try_find_child("DefaultPolicy")
            if default_policy is not None:
                nag.acknowledge(default_policy.node.default_child, [nag.ROLE_POLICY_WILDCARD])
        if self.log_group is not None and has_on_failure:  # we made the function
            nag.acknowledge(
                self.function.node.default_child,
                [nag.STREAM_FUNCTION_HAS_ON_FAILURE_DESTINATION],
            )
        if self.dead_letter_queue is not None:
            nag.acknowledge(
                self.dead_letter_queue.node.default_child, nag.ON_FAILURE_QUEUE_HAS_NO_DLQ
            )

    def _stream_arn(self, table: dynamodb.ITable) -> str:
        stream_arn = getattr(table, "table_stream_arn", None)
        if not stream_arn:
            raise v.StreamsValidationError(
                f"{self.node.path}: table must have a stream, got a table without one. "
                "Create it with StreamTable, pass stream=StreamViewType.NEW_AND_OLD_IMAGES "
                "to aws_dynamodb.Table, or import it with "
                "Table.from_table_attributes(table_arn=..., table_stream_arn=...)"
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
        v.check_int_range(self, "batch_size", batch_size, v.BATCH_SIZE)
        v.check_duration_range(
            self, "max_batching_window", max_batching_window, v.MAX_BATCHING_WINDOW_SECONDS
        )
        if starting_position not in _STREAM_POSITIONS:
            raise v.StreamsValidationError(
                f"{self.node.path}: starting_position must be TRIM_HORIZON or LATEST, "
                f"got {getattr(starting_position, 'name', repr(starting_position))}"
            )
        v.check_retry_attempts(self, retry_attempts)
        v.check_max_record_age(self, max_record_age)
        v.check_int_range(
            self, "parallelization_factor", parallelization_factor, v.PARALLELIZATION_FACTOR
        )
        v.check_duration_range(self, "tumbling_window", tumbling_window, v.TUMBLING_WINDOW_SECONDS)
        v.check_filters(
            self, filters, source="dynamodb" if self.kinesis_stream is None else "kinesis"
        )

    def _refuse_with_function(self, **given: Any) -> None:
        clash = sorted(name for name, value in given.items() if value is not None)
        if clash:
            raise v.StreamsValidationError(
                f"{self.node.path}: {', '.join(clash)} must be left unset with function=, "
                "because they configure the function this construct would create"
            )

    def _create_function(
        self,
        *,
        handler_dir: str | Path | None,
        handler: str | None,
        memory_size: int | None,
        timeout: Duration | None,
        environment: Mapping[str, str] | None,
        log_retention: logs.RetentionDays | None,
        tracing: lambda_.Tracing | None,
    ) -> lambda_.Function:
        code, handler_name = self._code(handler_dir, handler)
        memory_size = DEFAULT_MEMORY_SIZE if memory_size is None else memory_size
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        v.check_int_range(self, "memory_size", memory_size, v.MEMORY_SIZE_MB, "MB")
        v.check_duration_range(self, "timeout", timeout, v.TIMEOUT_SECONDS)
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=log_retention or DEFAULT_LOG_RETENTION
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
        return lambda_.Function(
            self,
            "Function",
            runtime=newest_python_runtime(),
            code=code,
            handler=handler_name,
            memory_size=memory_size,
            timeout=timeout,
            environment=dict(environment or {}),
            tracing=tracing or lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
        )

    def _code(
        self, handler_dir: str | Path | None, handler: str | None
    ) -> tuple[lambda_.Code, str]:
        if handler_dir is None:
            if handler is not None:
                raise v.StreamsValidationError(
                    f"{self.node.path}: handler needs handler_dir, got handler={handler!r} "
                    "without it"
                )
            return sample_handler_code(), SAMPLE_HANDLER
        directory = Path(handler_dir).resolve()
        if not directory.is_dir():
            raise v.StreamsValidationError(
                f"{self.node.path}: handler_dir must be an existing directory, "
                f"got {str(handler_dir)!r}"
            )
        if handler is None or not _HANDLER.match(handler):
            raise v.StreamsValidationError(
                f"{self.node.path}: handler must be 'module.function' inside handler_dir, "
                f"got {handler!r}"
            )
        module = handler.rsplit(".", 1)[0].replace(".", "/")
        if not ((directory / f"{module}.py").is_file() or (directory / module).is_dir()):
            raise v.StreamsValidationError(
                f"{self.node.path}: handler must name a module in handler_dir, got {handler!r} "
                f"but {module}.py is not in {directory}"
            )
        return handler_dir_code(directory), handler
