#!/usr/bin/env python3
"""The sample app: an Orders table whose changes ProcessOrderChanges handles.

npx cdk synth      # or: make synth
npx cdk deploy     # into a real account (see README)
"""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk_streams import StreamHandlerCode, StreamProcessor, StreamTable


class OrdersStack(cdk.Stack):
    """Orders table -> stream (NEW_AND_OLD_IMAGES) -> ProcessOrderChanges."""

    def __init__(self, scope: Construct, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.orders = StreamTable(
            self,
            "Orders",
            partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
            view_type=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )
        # The seed's mapping: new changes only, up to 100 per batch, 5 s to fill one.
        self.processor = StreamProcessor(
            self,
            "ProcessOrderChanges",
            table=self.orders.table,
            # The bundled Orders sample; your own code goes in handler_dir=.
            code=StreamHandlerCode.sample(),
            starting_position=lambda_.StartingPosition.LATEST,
            batch_size=100,
            max_batching_window=cdk.Duration.seconds(5),
        )


def build_app(app: cdk.App | None = None) -> cdk.App:
    app = app or cdk.App()
    OrdersStack(app, "OrdersStack")
    return app


if __name__ == "__main__":
    build_app().synth()
