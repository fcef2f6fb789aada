"""CloudWatch alarms for a stream processor: lag, failures and skipped batches.

:class:`StreamProcessor` builds a :class:`StreamAlarms` (construct id ``Alarms``)
unless ``alarms_enabled=False``. The alarm construct ids below are a public
contract: dashboards, runbooks and ``processor.alarms.alarms[...]`` use them.

========================  ===============================================  ==================
id                        fires when                                       default threshold
========================  ===============================================  ==================
``IteratorAge``           Lambda ``IteratorAge`` Maximum, 3 of 3 minutes   max_record_age / 4
                          (a shard is falling behind)                      (15 min by default;
                                                                           6 h without one)
``Errors``                Lambda ``Errors`` Sum over 5 min                 > 0
``RecordFailures``        the bundled runtime's ``Failures`` Sum over      > 0 in each
                          5 min, 3 periods running (records the handler    of 3 periods
                          reported failed, retried while ``Errors`` stays  (15 min running)
                          0; no data without the bundled runtime)
``Throttles``             Lambda ``Throttles`` Sum over 5 min              > 0
``DroppedEvents``         mapping ``DroppedEventCount`` Sum over 5 min     > 0
                          (records neither processed nor delivered on
                          failure: lost without a trace; needs the
                          processor's ``event_count_metrics``)
``DestinationDelivery     Lambda ``DestinationDeliveryFailures`` Sum       > 0
Failures``                over 5 min (an on-failure record could not be
                          written: its batch is lost)
``DeadLetterQueueDepth``  on-failure queue ``ApproximateNumberOf           > 0
                          MessagesVisible`` Maximum over 5 min
                          (a batch was skipped)
``DeadLetterQueueAge``    on-failure queue ``ApproximateAgeOfOldest        6 h
                          Message`` Maximum over 5 min (nobody replayed
                          the skipped range)
========================  ===============================================  ==================

Every metric comes from the processor's ``metric_*()`` methods (see
:class:`cdk_streams.interfaces.IStreamProcessor`): function metrics from
``function.metric(...)``, so they work for an ``IFunction`` passed in with
``function=`` too, and the mapping's own counts under its UUID.
``RecordFailures`` reads the bundled runtime's per-batch metrics line, which
only a function running ``stream_runtime``'s ``StreamRouter`` writes (the code
``StreamProcessor`` builds, or ``StreamHandlerCode.from_directory`` for your
own function); for any other function it has no data and never fires, so leave
it out with ``omit``. Missing data never breaches: an idle stream invokes
nothing and emits nothing, and Lambda emits no IteratorAge at all while the
stream is idle.

``add_alarm_action`` / ``add_ok_action`` add actions to every alarm, and
:meth:`StreamAlarms.annotations` hands each alarm's threshold line to the
dashboard widget that charts its metric.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Never

from aws_cdk import Duration, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from . import validation as v
from .interfaces import IStreamProcessor, lacking
from .prop_types import reject_unknown

ITERATOR_AGE = "IteratorAge"
ERRORS = "Errors"
RECORD_FAILURES = "RecordFailures"
THROTTLES = "Throttles"
DROPPED_EVENTS = "DroppedEvents"
DESTINATION_DELIVERY_FAILURES = "DestinationDeliveryFailures"
DEAD_LETTER_QUEUE_DEPTH = "DeadLetterQueueDepth"
DEAD_LETTER_QUEUE_AGE = "DeadLetterQueueAge"
ON_FAILURE_ARCHIVED = "OnFailureArchived"
#: Every alarm's construct id, in the order they are built. The default
#: processor (an on-failure queue) gets the first eight; one whose on-failure
#: destination is an S3 bucket gets OnFailureArchived instead of the two queue
#: alarms.
ALARM_NAMES = (
    ITERATOR_AGE,
    ERRORS,
    RECORD_FAILURES,
    THROTTLES,
    DROPPED_EVENTS,
    DESTINATION_DELIVERY_FAILURES,
    DEAD_LETTER_QUEUE_DEPTH,
    DEAD_LETTER_QUEUE_AGE,
    ON_FAILURE_ARCHIVED,
)

#: DynamoDB Streams keeps a record for 24 h; an iterator older than that has
#: already lost records, so an alarm threshold at or above it never helps.
STREAM_RETENTION_SECONDS = 24 * 60 * 60
#: The on-failure queue keeps messages 14 days (StreamProcessor's choice, the
#: SQS maximum); an age threshold at or above that would never fire.
QUEUE_RETENTION_SECONDS = 14 * 24 * 60 * 60
#: Without max_record_age a record can wait the stream's whole 24 h; alarming
#: at a quarter of that still leaves 18 h to fix the consumer before the
#: stream trims unread records.
ITERATOR_AGE_WITHOUT_MAX_RECORD_AGE = Duration.hours(6)
#: The on-failure record only names a shard and sequence-number range; the
#: records themselves stay in the stream 24 h from their write. With the
#: default 1 h max_record_age, 6 h leaves about 17 h to replay the range.
DEFAULT_DEAD_LETTER_QUEUE_AGE = Duration.hours(6)

_LAMBDA_PERIOD = Duration.minutes(1)
_COUNT_PERIOD = Duration.minutes(5)
_COUNT_FIELDS = (
    "errors",
    "record_failures",
    "throttles",
    "dropped_events",
    "destination_delivery_failures",
    "dead_letter_queue_depth",
)
_ITERATOR_AGE_MINUTES = 3
#: 5-minute periods in a row with failed records before RecordFailures fires:
#: one bad record is retried and skipped within minutes (DeadLetterQueueDepth
#: reports that), while failures for 15 min running mean the handler or what
#: it calls is broken.
_RECORD_FAILURE_PERIODS = 3


@dataclass(frozen=True)
class AlarmThresholds:
    """Where each of :class:`StreamAlarms`' alarms fires.

    :param iterator_age: alarm when the oldest record a batch carried is older
        than this for 3 minutes running. Must stay below ``max_record_age``
        (older records are skipped, so the age never gets there) and below the
        stream's 24 h retention. @default - a quarter of the processor's
        ``max_record_age`` (15 min with its 1 h default), or 6 h without one:
        either way three quarters of the window is left to act before records
        are skipped or trimmed.
    :param errors: alarm when function errors in 5 min exceed this. @default 0.
        With ``report_batch_item_failures`` a record that fails is reported,
        not raised, so an Error is a crash or a timeout: each one retries a
        whole batch and holds up its shard.
    :param record_failures: alarm when the handler reported more failed records
        than this in each 5 min of 15 min running (3 periods in a row), >= 0.
        @default 0: any failure that lasts 15 min pages, one blip does not.
        With partial-batch responses a failed record is retried while
        ``Errors`` stays 0; this counts it. The runtime reports the first
        failed record and every later one of its batch, so count thresholds
        are in records, not bad records. Needs the bundled runtime's metrics
        line (see the module docstring).
    :param throttles: alarm when throttles in 5 min exceed this. @default 0,
        because a throttled stream invocation delays its whole shard.
    :param dropped_events: alarm when more records than this were dropped in
        5 min. @default 0: a dropped record was neither processed nor recorded
        in the on-failure destination, so nothing is left to replay.
    :param destination_delivery_failures: alarm when more on-failure records
        than this could not be delivered in 5 min. @default 0, for the same reason.
    :param dead_letter_queue_depth: alarm when more messages than this wait in
        the on-failure queue. @default 0: every message is a batch of changes
        that was skipped.
    :param dead_letter_queue_age: alarm when the oldest on-failure message is
        older than this, 60 s..14 days. @default 6 hours, leaving about 17 h
        to replay the skipped range before the stream trims it.
    :param omit: ids of alarms not to create, from :data:`ALARM_NAMES`.
        @default - none: every alarm that applies is created.
    """

    iterator_age: Duration | None = None
    errors: int = 0
    record_failures: int = 0
    throttles: int = 0
    dropped_events: int = 0
    destination_delivery_failures: int = 0
    dead_letter_queue_depth: int = 0
    dead_letter_queue_age: Duration = DEFAULT_DEAD_LETTER_QUEUE_AGE
    omit: Collection[str] = field(default_factory=frozenset)


def default_iterator_age(max_record_age: Duration | None) -> Duration:
    """The IteratorAge threshold for a processor with this ``max_record_age``."""
    if max_record_age is None or max_record_age.is_unresolved():
        return ITERATOR_AGE_WITHOUT_MAX_RECORD_AGE
    return Duration.seconds(max(1, int(max_record_age.to_seconds()) // 4))


def check_thresholds(
    scope: Construct,
    prop: str,
    thresholds: Any,
    max_record_age: Duration | None,
) -> AlarmThresholds:
    """Validate ``thresholds`` and return them with every default filled in.

    A wrong value raises a StreamsValidationError naming ``scope``'s path, the
    ``<prop>.<field>``, what is allowed and the value given.
    """
    if thresholds is None:
        thresholds = AlarmThresholds()
    if not isinstance(thresholds, AlarmThresholds):
        raise v.StreamsValidationError(
            f"{scope.node.path}: {prop} must be an AlarmThresholds, got {thresholds!r}"
        )
    for name in _COUNT_FIELDS:
        _check_count(scope, f"{prop}.{name}", getattr(thresholds, name))

    iterator_age = thresholds.iterator_age
    if iterator_age is None:
        iterator_age = default_iterator_age(max_record_age)
    limit = STREAM_RETENTION_SECONDS - 1
    why = "below the stream's 24 h retention"
    record_age = v.duration_seconds(scope, "max_record_age", max_record_age)
    if record_age is not None:
        limit, why = record_age - 1, "below max_record_age: older records are skipped"
    v.check_duration_range(scope, f"{prop}.iterator_age", iterator_age, (1, limit), why)

    if thresholds.dead_letter_queue_age is None:
        raise v.StreamsValidationError(
            f"{scope.node.path}: {prop}.dead_letter_queue_age must be an aws_cdk.Duration "
            f"(leave it out with omit={{'{DEAD_LETTER_QUEUE_AGE}'}}), got None"
        )
    v.check_duration_range(
        scope,
        f"{prop}.dead_letter_queue_age",
        thresholds.dead_letter_queue_age,
        (60, QUEUE_RETENTION_SECONDS - 1),
        "below the on-failure queue's 14-day retention",
    )

    omit = thresholds.omit
    if isinstance(omit, (str, bytes)) or not isinstance(omit, Collection):
        raise v.StreamsValidationError(
            f"{scope.node.path}: {prop}.omit must be a set of alarm ids, got {omit!r}"
        )
    unknown = sorted(str(name) for name in omit if name not in ALARM_NAMES)
    if unknown:
        raise v.StreamsValidationError(
            f"{scope.node.path}: {prop}.omit must be alarm ids from "
            f"{', '.join(ALARM_NAMES)}, got {', '.join(unknown)}"
        )
    return AlarmThresholds(
        iterator_age=iterator_age,
        errors=thresholds.errors,
        record_failures=thresholds.record_failures,
        throttles=thresholds.throttles,
        dropped_events=thresholds.dropped_events,
        destination_delivery_failures=thresholds.destination_delivery_failures,
        dead_letter_queue_depth=thresholds.dead_letter_queue_depth,
        dead_letter_queue_age=thresholds.dead_letter_queue_age,
        omit=frozenset(omit),
    )


def check_actions(
    scope: Construct,
    *,
    alarm_topic: Any,
    alarm_actions: Any,
) -> list[cloudwatch.IAlarmAction]:
    """Validate the alarm targets; return every action, the topic's first."""
    actions: list[cloudwatch.IAlarmAction] = []
    if alarm_topic is not None:
        # jsii interfaces are not runtime-checkable; a topic has an ARN.
        if not hasattr(alarm_topic, "topic_arn"):
            raise v.StreamsValidationError(
                f"{scope.node.path}: alarm_topic must be an aws_sns.ITopic, got {alarm_topic!r}"
            )
        actions.append(cloudwatch_actions.SnsAction(alarm_topic))
    if alarm_actions is not None:
        if isinstance(alarm_actions, (str, bytes)) or not isinstance(alarm_actions, Sequence):
            raise v.StreamsValidationError(
                f"{scope.node.path}: alarm_actions must be a list of "
                f"aws_cloudwatch.IAlarmAction, got {alarm_actions!r}"
            )
        for index, action in enumerate(alarm_actions):
            if not callable(getattr(action, "bind", None)):
                raise v.StreamsValidationError(
                    f"{scope.node.path}: alarm_actions[{index}] must be an "
                    f"aws_cloudwatch.IAlarmAction (e.g. aws_cloudwatch_actions.SnsAction), "
                    f"got {action!r}"
                )
            actions.append(action)
    return actions


class StreamAlarms(Construct):
    """The alarms of one stream consumer: lag, errors, failed records, throttles, lost and
    skipped batches.

    :param processor: the consumer to watch: a :class:`StreamProcessor`, or
        anything with the same ``metric_*()`` methods and ``max_record_age``
        (:class:`cdk_streams.interfaces.IStreamProcessor`).
    :param max_record_age: the mapping's maximum record age, 60 s..7 days:
        the IteratorAge threshold defaults to a quarter of it and must stay
        below it. @default - the processor's ``max_record_age`` (1 h for a
        default :class:`StreamProcessor`; when it has none, the stream's 24 h
        retention bounds the threshold), because that is the age at which the
        mapping skips records: a threshold above it could never fire. Set it
        only for a processor whose mapping is configured elsewhere.
    :param thresholds: @default ``AlarmThresholds()`` (see there).
    :param alarm_topic: an SNS topic notified on ALARM and on OK. @default - none.
    :param alarm_actions: more actions run on ALARM. @default - none.
    :param alarm_name_prefix: names the alarms ``<prefix>-<alarm id>`` (e.g.
        ``orders-cdc-IteratorAge``), 1..200 printable characters. @default -
        none: CloudFormation generates the names, which say nothing in a page;
        set one per service so the page says whose consumer is behind.

    ``DroppedEvents`` needs the processor's ``event_count_metrics``; the
    ``DeadLetterQueue*`` alarms need its ``on_failure_queue``. Exposes
    ``alarms`` (id -> ``Alarm``, only those created), ``thresholds`` (with
    every default filled in), ``max_record_age`` (the one the thresholds were
    checked against) and one attribute per alarm (``iterator_age``,
    ``errors``, ``record_failures``, ``throttles``, ``dropped_events``,
    ``destination_delivery_failures``, ``dead_letter_queue_depth``,
    ``dead_letter_queue_age``; None when not created).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        processor: IStreamProcessor,
        max_record_age: Duration | None = None,
        thresholds: AlarmThresholds | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarm_actions: Sequence[cloudwatch.IAlarmAction] | None = None,
        alarm_name_prefix: str | None = None,
        **unknown: Never,
    ) -> None:
        super().__init__(scope, id)
        reject_unknown(self, unknown)
        check_alarm_name_prefix(self, "alarm_name_prefix", alarm_name_prefix)
        self.alarm_name_prefix = alarm_name_prefix
        if not isinstance(processor, IStreamProcessor):
            raise v.StreamsValidationError(
                f"{self.node.path}: processor must be a StreamProcessor (or an "
                f"IStreamProcessor), got {v.described(processor)}"
                f"{lacking(processor, IStreamProcessor)}"
            )
        if max_record_age is None:
            # The age at which the processor's mapping skips records.
            max_record_age = processor.max_record_age
        else:
            v.check_max_record_age(self, max_record_age)
        self.max_record_age: Duration | None = max_record_age
        self.thresholds = check_thresholds(self, "thresholds", thresholds, max_record_age)
        actions = check_actions(self, alarm_topic=alarm_topic, alarm_actions=alarm_actions)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        t = self.thresholds
        # check_thresholds filled in the derived default.
        lag_seconds = int((t.iterator_age or default_iterator_age(max_record_age)).to_seconds())
        self.iterator_age = self._alarm(
            ITERATOR_AGE,
            processor.metric_iterator_age(period=_LAMBDA_PERIOD),
            threshold=lag_seconds * 1000,  # IteratorAge is in milliseconds
            evaluation_periods=_ITERATOR_AGE_MINUTES,
            description=(
                f"A stream shard is falling behind: the oldest record in a batch was over "
                f"{lag_seconds} s old for {_ITERATOR_AGE_MINUTES} minutes. Records past "
                f"max_record_age are skipped to the on-failure destination; after 24 h the "
                f"stream drops them, counted nowhere. Check the function's errors, duration "
                f"and throttles. No data (an idle stream) is not breaching."
            ),
        )
        self.errors = self._alarm(
            ERRORS,
            processor.metric_errors(period=_COUNT_PERIOD),
            threshold=t.errors,
            description=(
                f"More than {t.errors} function errors in 5 minutes. Each error retries its "
                f"whole batch and holds up the shard; read the function's logs."
            ),
        )
        self.record_failures = self._alarm(
            RECORD_FAILURES,
            processor.metric_record_failures(period=_COUNT_PERIOD),
            threshold=t.record_failures,
            evaluation_periods=_RECORD_FAILURE_PERIODS,
            description=(
                f"The handler reported more than {t.record_failures} failed records in each "
                f"5 minutes for {5 * _RECORD_FAILURE_PERIODS} minutes running (batchItemFailures; "
                f"Lambda's Errors stays 0 for these). Failed records are retried, then skipped "
                f"to the on-failure destination past retry_attempts or max_record_age. Read "
                f"the function's logs for the failing record and its exception."
            ),
        )
        self.throttles = self._alarm(
            THROTTLES,
            processor.metric_throttles(period=_COUNT_PERIOD),
            threshold=t.throttles,
            description=(
                f"More than {t.throttles} function throttles in 5 minutes: stream "
                f"processing is delayed. Check reserved and account concurrency."
            ),
        )
        self.dropped_events: cloudwatch.Alarm | None = None
        if processor.event_count_metrics:
            self.dropped_events = self._alarm(
                DROPPED_EVENTS,
                processor.metric_dropped_events(period=_COUNT_PERIOD),
                threshold=t.dropped_events,
                description=(
                    f"More than {t.dropped_events} stream records were dropped in 5 minutes: "
                    f"neither processed nor recorded in the on-failure destination, so "
                    f"nothing points at them. Check DestinationDeliveryFailures and the "
                    f"destination's permissions."
                ),
            )
        self.destination_delivery_failures = self._alarm(
            DESTINATION_DELIVERY_FAILURES,
            processor.metric_destination_delivery_failures(period=_COUNT_PERIOD),
            threshold=t.destination_delivery_failures,
            description=(
                f"More than {t.destination_delivery_failures} on-failure records could not be "
                f"delivered in 5 minutes: those skipped batches are lost. Check that the "
                f"destination exists and the function's role may write to it."
            ),
        )
        self.dead_letter_queue_depth: cloudwatch.Alarm | None = None
        self.dead_letter_queue_age: cloudwatch.Alarm | None = None
        if processor.on_failure_queue is not None:
            self.dead_letter_queue_depth = self._alarm(
                DEAD_LETTER_QUEUE_DEPTH,
                processor.metric_on_failure_queue_depth(period=_COUNT_PERIOD),
                threshold=t.dead_letter_queue_depth,
                description=(
                    f"More than {t.dead_letter_queue_depth} batches were skipped to the "
                    f"on-failure queue. Each message names a shard and sequence-number "
                    f"range; replay it from the stream within 24 h of the records' write."
                ),
            )
            age_seconds = int(t.dead_letter_queue_age.to_seconds())
            self.dead_letter_queue_age = self._alarm(
                DEAD_LETTER_QUEUE_AGE,
                processor.metric_on_failure_queue_age(period=_COUNT_PERIOD),
                threshold=age_seconds,
                description=(
                    f"A skipped batch has waited over {age_seconds} s in the on-failure "
                    f"queue. The stream drops its records 24 h after they were written."
                ),
            )
        self.on_failure_archived: cloudwatch.Alarm | None = None
        bucket = processor.on_failure_bucket
        # The count of records delivered on failure is an EventCount metric:
        # without event_count_metrics it does not exist, and the alarm could never fire.
        if bucket is not None and processor.event_count_metrics:
            self.on_failure_archived = self._alarm(
                ON_FAILURE_ARCHIVED,
                processor.metric_on_failure_delivered_events(period=_COUNT_PERIOD),
                threshold=0,
                description=(
                    f"The stream mapping skipped records to the on-failure bucket "
                    f"{bucket.bucket_name}. Each object holds the whole batch; fix the "
                    f"handler, then replay with `cdk-streams redrive --from "
                    f"s3://BUCKET/aws/lambda/`."
                ),
            )
        self.add_alarm_action(*actions)
        if alarm_topic is not None:
            # Only the topic hears about recovery: an arbitrary action (an
            # auto-scaling step, a Systems Manager incident) should not run twice.
            self.add_ok_action(actions[0])

    def add_alarm_action(self, *actions: cloudwatch.IAlarmAction) -> None:
        """Run ``actions`` when any of these alarms goes to ALARM."""
        for index, action in enumerate(actions):
            _check_action(self, f"add_alarm_action actions[{index}]", action)
        for alarm in self.alarms.values():
            alarm.add_alarm_action(*actions)

    def add_ok_action(self, *actions: cloudwatch.IAlarmAction) -> None:
        """Run ``actions`` when any of these alarms returns to OK."""
        for index, action in enumerate(actions):
            _check_action(self, f"add_ok_action actions[{index}]", action)
        for alarm in self.alarms.values():
            alarm.add_ok_action(*actions)

    def annotations(self, *alarm_ids: str) -> list[cloudwatch.HorizontalAnnotation]:
        """The threshold lines of these alarms (those created), for a graph widget."""
        return [self.alarms[name].to_annotation() for name in alarm_ids if name in self.alarms]

    def alarm_name(self, alarm_id: str) -> str | None:
        """The name of this construct's alarm ``alarm_id``: ``<prefix>-<alarm_id>``,
        or None (a generated name) without ``alarm_name_prefix``."""
        prefix = self.alarm_name_prefix
        return None if prefix is None else f"{prefix}-{alarm_id}"

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm | None:
        if name in self.thresholds.omit:
            return None
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_name=self.alarm_name(name),
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # An idle stream invokes nothing, so no data is the healthy case
            # (Lambda emits no IteratorAge at all while the stream is idle).
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        self.alarms[name] = alarm
        return alarm


#: The longest prefix: CloudWatch alarm names hold up to 255 characters, and
#: the longest alarm id with its dash is 28.
MAX_ALARM_NAME_PREFIX = 200


def check_alarm_name_prefix(scope: Construct, prop: str, value: Any) -> None:
    """``value`` is None, a CDK token, or 1..200 printable characters."""
    if value is None or (isinstance(value, str) and Token.is_unresolved(value)):
        return
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_ALARM_NAME_PREFIX
        or not value.isprintable()
    ):
        raise v.StreamsValidationError(
            f"{scope.node.path}: {prop} must be 1..{MAX_ALARM_NAME_PREFIX} printable "
            f"characters (alarm names are <prefix>-<alarm id>), got {value!r}"
        )


def _check_action(scope: Construct, prop: str, action: Any) -> None:
    if not callable(getattr(action, "bind", None)):
        raise v.StreamsValidationError(
            f"{scope.node.path}: {prop} must be an aws_cloudwatch.IAlarmAction "
            f"(e.g. aws_cloudwatch_actions.SnsAction), got {action!r}"
        )


def _check_count(scope: Construct, prop: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise v.StreamsValidationError(
            f"{scope.node.path}: {prop} must be a whole number >= 0, got {value!r}"
        )


__all__ = [
    "ALARM_NAMES",
    "AlarmThresholds",
    "StreamAlarms",
    "check_actions",
    "check_thresholds",
    "default_iterator_age",
]
