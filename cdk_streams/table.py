"""StreamTable: a DynamoDB table with its stream on, and production defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from constructs import Construct

from . import prop_types as t
from .acknowledgements import acknowledge_table
from .validation import StreamsValidationError, described

# Settings StreamTable owns, each with its keyword argument that sets them;
# passed through **table_props they would fight the construct's own choices.
_OWNED = {
    "partition_key": "partition_key",
    "sort_key": "sort_key",
    "stream": "view_type",
    "billing_mode": "billing_mode",
    "encryption": "encryption_key",
    "encryption_key": "encryption_key",
    "point_in_time_recovery": "point_in_time_recovery",
    "point_in_time_recovery_specification": "point_in_time_recovery",
    "removal_policy": "removal_policy",
}
#: The aws_dynamodb.Table keyword arguments that pass through unchanged.
TABLE_PROPS = t.keyword_arguments(dynamodb.Table) - set(_OWNED)


class StreamTable(Construct):
    """A DynamoDB table whose stream carries every change, ready for a processor.

    :param partition_key: the table's partition key.
    :param sort_key: the table's sort key. @default - none.
    :param view_type: what each stream record carries: KEYS_ONLY, NEW_IMAGE,
        OLD_IMAGE or NEW_AND_OLD_IMAGES. @default NEW_AND_OLD_IMAGES, because a
        change-data-capture consumer usually needs both sides of a MODIFY, and
        changing the view type later replaces the stream (a new ARN; consumers
        of the old one stop receiving changes).
    :param encryption_key: a customer-managed KMS key for the table; a
        :class:`StreamProcessor` on the table encrypts its log group with it too.
        @default - an AWS-managed key (``TableEncryption.AWS_MANAGED``), which
        logs key use to CloudTrail at no key-management cost (acknowledged for
        checkov, see ``docs/security.md``).
    :param point_in_time_recovery: continuous backups. @default True, because
        the stream only keeps 24 h of changes and cannot replay older ones.
    :param billing_mode: @default PAY_PER_REQUEST, because stream workloads are
        bursty and on-demand tables never throttle a write burst into the stream.
    :param removal_policy: @default RETAIN, because deleting a stack must never
        delete the data it captured.
    :param deletion_protection: DynamoDB deletion protection, which refuses a
        DeleteTable from anyone (console, CLI, a script, CloudFormation) until
        it is turned off. @default - True, unless ``removal_policy`` is
        DESTROY: RETAIN only guards against CloudFormation, and a CDC table is
        the source of truth its consumers replay from. With DESTROY you asked
        for the table to go with the stack, which protection would refuse, so
        the default follows you (and True with DESTROY is an error).
    :param kinesis_stream: also stream every change to this existing Kinesis
        data stream (Kinesis Data Streams for DynamoDB), for more than two
        readers per shard or retention beyond 24 h. @default - none: changes go
        to the DynamoDB stream only.
    :param create_kinesis_stream: create that Kinesis data stream here (id
        ``KinesisStream``): on-demand, encrypted with the AWS-managed
        ``aws/kinesis`` key, records kept 7 days (the longest ``max_record_age``
        a processor accepts). @default False.
    :param table_props: any other ``aws_dynamodb.Table`` keyword argument
        (``time_to_live_attribute``, ``table_name``, ``kinesis_precision_timestamp`` ...)
        passes through unchanged.

    Exposes ``.table``: the ``ITable`` with ``table_stream_arn`` set, and
    ``.kinesis_stream`` (None unless one of the Kinesis props is given).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        partition_key: dynamodb.Attribute,
        sort_key: dynamodb.Attribute | None = None,
        view_type: dynamodb.StreamViewType = dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        encryption_key: kms.IKey | None = None,
        point_in_time_recovery: bool = True,
        billing_mode: dynamodb.BillingMode = dynamodb.BillingMode.PAY_PER_REQUEST,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        deletion_protection: bool | None = None,
        kinesis_stream: kinesis.IStream | None = None,
        create_kinesis_stream: bool = False,
        **table_props: Any,
    ) -> None:
        super().__init__(scope, id)
        self._check_types(
            partition_key=partition_key,
            sort_key=sort_key,
            encryption_key=encryption_key,
            point_in_time_recovery=point_in_time_recovery,
            billing_mode=billing_mode,
            removal_policy=removal_policy,
            kinesis_stream=kinesis_stream,
        )
        refuse_owned(self, table_props)
        t.reject_unknown(self, table_props, passed_on={"aws_dynamodb.Table": TABLE_PROPS})
        self.kinesis_stream = self._kinesis_stream(kinesis_stream, create_kinesis_stream)
        deletion_protection = self._deletion_protection(deletion_protection, removal_policy)
        if not isinstance(view_type, dynamodb.StreamViewType):
            raise StreamsValidationError(
                f"{self.node.path}: view_type must be one of "
                f"{', '.join(v.name for v in dynamodb.StreamViewType)}, got {view_type!r}"
            )
        self.view_type = view_type
        encryption = (
            dynamodb.TableEncryption.CUSTOMER_MANAGED
            if encryption_key is not None
            else dynamodb.TableEncryption.AWS_MANAGED
        )
        self.table: dynamodb.Table = dynamodb.Table(
            self,
            "Table",
            partition_key=partition_key,
            sort_key=sort_key,
            stream=view_type,
            billing_mode=billing_mode,
            encryption=encryption,
            encryption_key=encryption_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=point_in_time_recovery
            ),
            removal_policy=removal_policy,
            deletion_protection=deletion_protection,
            kinesis_stream=self.kinesis_stream,
            **table_props,
        )
        acknowledge_table(self.table)

    def _kinesis_stream(self, given: kinesis.IStream | None, create: Any) -> kinesis.IStream | None:
        t.check_bool(self, "create_kinesis_stream", create)
        if given is not None and create:
            raise StreamsValidationError(
                f"{self.node.path}: kinesis_stream must be unset with create_kinesis_stream=True, "
                f"got {given.node.path}"
            )
        if not create:
            return given
        return kinesis.Stream(
            self,
            "KinesisStream",
            stream_mode=kinesis.StreamMode.ON_DEMAND,
            encryption=kinesis.StreamEncryption.MANAGED,
            retention_period=Duration.days(7),
        )

    def _deletion_protection(self, given: Any, removal_policy: RemovalPolicy) -> bool:
        destroy = removal_policy == RemovalPolicy.DESTROY
        if given is None:
            return not destroy
        if not isinstance(given, bool):
            raise StreamsValidationError(
                f"{self.node.path}: deletion_protection must be True, False or None, got {given!r}"
            )
        if given and destroy:
            raise StreamsValidationError(
                f"{self.node.path}: deletion_protection must be False or unset with "
                "removal_policy=DESTROY (CloudFormation could not delete the table, so "
                "deleting the stack would fail), got True"
            )
        return given

    def _check_types(
        self,
        *,
        partition_key: Any,
        sort_key: Any,
        encryption_key: Any,
        point_in_time_recovery: Any,
        billing_mode: Any,
        removal_policy: Any,
        kinesis_stream: Any,
    ) -> None:
        """Raise a StreamsValidationError for a prop of the wrong type, before jsii's TypeError.

        The error names the construct path, the prop, what is allowed and the value given.
        """
        attribute = "an aws_dynamodb.Attribute(name=..., type=AttributeType.STRING)"
        if partition_key is None:
            raise t.fail(self, "partition_key", attribute, partition_key)
        t.check_instance(self, "partition_key", partition_key, dynamodb.Attribute, attribute)
        t.check_instance(self, "sort_key", sort_key, dynamodb.Attribute, attribute)
        t.check_interface(self, "encryption_key", encryption_key, "key_arn", "an aws_kms.IKey")
        t.check_bool(self, "point_in_time_recovery", point_in_time_recovery)
        t.check_instance(
            self, "billing_mode", billing_mode, dynamodb.BillingMode, "an aws_dynamodb.BillingMode"
        )
        if billing_mode is None:
            raise t.fail(self, "billing_mode", "an aws_dynamodb.BillingMode", billing_mode)
        t.check_instance(
            self, "removal_policy", removal_policy, RemovalPolicy, "an aws_cdk.RemovalPolicy"
        )
        if removal_policy is None:
            raise t.fail(self, "removal_policy", "an aws_cdk.RemovalPolicy", removal_policy)
        t.check_interface(
            self, "kinesis_stream", kinesis_stream, "stream_arn", "an aws_kinesis.IStream"
        )


def refuse_owned(scope: Construct, props: Mapping[str, Any], given_in: str | None = None) -> None:
    """Refuse the table settings in ``props`` that ``scope`` (a StreamTable, or a
    StreamPipeline that passes ``props`` on to one) sets through keyword
    arguments of its own: passed on, they would be given twice.

    :param given_in: the prop that ``props`` came in, for the message.
        @default - none: they are ``scope``'s own keyword arguments.
    """
    own = t.keyword_arguments(type(scope)) - {given_in}
    for name in sorted(props):
        setting = _OWNED.get(name, name)
        if setting == name and setting not in own:
            continue
        owner = type(scope).__name__ if setting in own else StreamTable.__name__
        raise t.fail(
            scope,
            name,
            f"set through {owner}'s own keyword arguments ({setting})",
            props[name],
            shown=f"it in {given_in}" if given_in else f"{name}={described(props[name])}",
        )
