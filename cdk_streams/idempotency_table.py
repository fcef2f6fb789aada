"""IdempotencyTable: the DynamoDB table behind the handler runtime's idempotency guard.

``StreamProcessor(idempotency=True)`` creates one for its function. The bundled
runtime's ``IdempotencyGuard()`` finds the table through the function's
``IDEMPOTENCY_TABLE_NAME`` variable and keeps one item per record there: an
``IN_PROGRESS`` claim while the record runs, then ``COMPLETED`` until its TTL.
"""

from __future__ import annotations

from typing import Any, Never

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# The runtime's own names: the environment variable it reads the table's name
# from, the partition key (the record's idempotency key) and the TTL attribute.
from stream_runtime.idempotency import TABLE_ENV
from stream_runtime.idempotency_dynamodb import KEY_ATTRIBUTE, TTL_ATTRIBUTE

from . import validation as v
from .prop_types import check_bool, reject_unknown

#: What DynamoDBIdempotencyStore calls: claim and complete (put), read a
#: holder (get), release (delete).
STORE_ACTIONS = ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem")


class IdempotencyTable(Construct):
    """A claims table for the idempotency guard, granted to one function.

    PAY_PER_REQUEST (a claim is two small writes per record, with the
    stream's bursts), TTL on ``expiration`` so claims clean themselves up,
    point-in-time recovery on (cdk-nag AwsSolutions-DDB3). The function may
    put, get and delete the table's items and nothing else, and gets the
    table's name in ``IDEMPOTENCY_TABLE_NAME``.

    :param function: the stream function that runs the guard.
    :param removal_policy: @default DESTROY: the table holds only claims that
        expire within a day, so a deleted stack leaves nothing worth keeping.

    Exposes ``table``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.Function,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        **unknown: Never,
    ) -> None:
        super().__init__(scope, id)
        reject_unknown(self, unknown)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=KEY_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=removal_policy,
        )
        # Exactly the calls the runtime's store makes. grant_read_write_data
        # would add scans, batch writes and the table's stream besides.
        self.table.grant(function, *STORE_ACTIONS)
        function.add_environment(TABLE_ENV, self.table.table_name)


def check_idempotency(scope: Construct, idempotency: Any, function: Any) -> None:
    """``idempotency`` is a bool, and needs a function the construct creates.

    :param function: the ``function=`` prop given to the construct (None when
        it creates its own).
    """
    check_bool(scope, "idempotency", idempotency)
    if idempotency and function is not None:
        raise v.StreamsValidationError(
            f"{scope.node.path}: idempotency must be False with function=, got True: the "
            "construct can only set IDEMPOTENCY_TABLE_NAME on a function it creates. Add "
            "IdempotencyTable(scope, 'Claims', function=your_function) instead"
        )
