"""ProcessOrderChanges: the sample handler for the Orders table's stream.

Orders look like ``{"orderId": "o-1", "customerId": "c-9", "status": "PLACED",
"total": Decimal("42.50"), ...}``. The handler logs what an Orders team wants
to see, one JSON line per change:

- INSERT: "order placed", with id, customer and total;
- MODIFY: "order updated", with the total's change and the status transition
  when they changed (read from ``changed_attributes``);
- REMOVE: "order expired" for a TTL deletion, otherwise "order cancelled".

Poison records, on purpose: an item whose new image has ``poison`` set to true
makes the handler raise :class:`PoisonOrderError`. The router reports it (and
the rest of the batch) as failed, Lambda retries, and after the mapping's retry
attempts the batch's description lands in the on-failure queue. The local-cloud
demo writes such an item to show exactly that.
"""

from __future__ import annotations

from stream_runtime import ChangeRecord, StreamRouter, get_logger
from stream_runtime.logs import to_json

logger = get_logger("orders")
router = StreamRouter()


class PoisonOrderError(RuntimeError):
    """Raised for an order marked ``poison: true``, to demonstrate failure handling."""


def _order_id(record: ChangeRecord) -> object:
    return record.keys.get("orderId")


def _reject_poison(record: ChangeRecord) -> None:
    image = record.new_image
    if image is not None and image.get("poison") is True:
        raise PoisonOrderError(
            f"order {_order_id(record)!r} is marked poison=true; failing it on purpose "
            "so that it is retried and then sent to the on-failure destination"
        )


def _log(message: str, **fields: object) -> None:
    logger.info(to_json({"message": message, **fields}))


@router.on_insert
def order_placed(record: ChangeRecord) -> None:
    """A new order: who placed it and for how much."""
    _reject_poison(record)
    order = record.new_image
    _log(
        "order placed",
        order_id=_order_id(record),
        customer_id=order.get("customerId") if order is not None else None,
        total=order.get("total") if order is not None else None,
    )


@router.on_modify
def order_updated(record: ChangeRecord) -> None:
    """A changed order: the total's change and the status transition, when they changed."""
    _reject_poison(record)
    changed = record.changed_attributes
    fields: dict[str, object] = {"order_id": _order_id(record)}
    if changed is None:
        # Without both images (a KEYS_ONLY, NEW_IMAGE or OLD_IMAGE stream) we
        # cannot say what changed, only that something did.
        _log("order updated", **fields)
        return
    new, old = record.new_image, record.old_image
    assert new is not None and old is not None  # changed_attributes implies both
    if "total" in changed:
        fields["total"] = {"from": old.get("total"), "to": new.get("total")}
    if "status" in changed:
        fields["status"] = {"from": old.get("status"), "to": new.get("status")}
    fields["changed"] = sorted(changed)
    _log("order updated", **fields)


@router.on_remove
def order_removed(record: ChangeRecord) -> None:
    """A deleted order: expired by TTL, or cancelled by someone."""
    if record.is_ttl_expiry:
        _log("order expired", order_id=_order_id(record), reason="ttl")
    else:
        old = record.old_image
        _log(
            "order cancelled",
            order_id=_order_id(record),
            status=old.get("status") if old is not None else None,
        )


def handler(event: dict, context: object) -> dict:
    """Lambda entry point: route the batch, return the partial-batch response."""
    return router.handler(event, context)
