"""ProcessOrderChanges: the sample handler for the Orders table's stream."""

import logging

from stream_runtime import StreamRouter

logger = logging.getLogger()
logger.setLevel(logging.INFO)
router = StreamRouter()


@router.on_insert
def order_placed(record):
    logger.info("order placed: %s", record["dynamodb"]["Keys"])


@router.on_modify
def order_changed(record):
    logger.info("order changed: %s", record["dynamodb"]["Keys"])


@router.on_remove
def order_removed(record):
    logger.info("order removed: %s", record["dynamodb"]["Keys"])


def handler(event, context):
    return router.handler(event, context)
