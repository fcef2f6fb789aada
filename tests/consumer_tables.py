"""The tables the consumer tests share: a table with a stream, and its lease table."""

from __future__ import annotations

from typing import Any

from cdk_streams.consumer import ensure_lease_table
from cdk_streams.local import LocalCloud


class ConsumerTables:
    """A fresh table keyed on ``orderId`` with a NEW_AND_OLD_IMAGES stream, and an
    empty lease table, created in ``cloud`` through boto3."""

    def __init__(self, cloud: LocalCloud, table: str, lease_table: str) -> None:
        self.cloud = cloud
        self.ddb = cloud.client("dynamodb")
        self.table = table
        self.lease_table = lease_table
        self.ddb.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        ensure_lease_table(self.ddb, self.lease_table)
        self.stream_arn = self.ddb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]

    def rows(self) -> list[dict[str, Any]]:
        """The lease table's items, read consistently."""
        items: list[dict[str, Any]] = self.ddb.scan(
            TableName=self.lease_table, ConsistentRead=True
        )["Items"]
        return items

    def row(self) -> dict[str, Any]:
        """The lease table's only item (fails when there is not exactly one)."""
        (item,) = self.rows()
        return item
