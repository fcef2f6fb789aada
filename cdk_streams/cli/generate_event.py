"""``cdk-streams generate-event``: a realistic Lambda DynamoDB stream event for one change."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from typing import Any

from .errors import CliError


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    generate = commands.add_parser(
        "generate-event",
        parents=parents,
        help="print a realistic Lambda DynamoDB stream event for one change",
    )
    generate.add_argument("change", choices=("insert", "modify", "remove"))
    generate.add_argument(
        "--item",
        required=True,
        help='the item as plain JSON, e.g. \'{"orderId": "o-1", "total": 12.5}\' '
        "(for remove: the deleted item)",
    )
    generate.add_argument("--old", help="modify: the item before the change, as plain JSON")
    generate.add_argument(
        "--keys", default="orderId", help="key attribute names, comma-separated (default: orderId)"
    )
    generate.add_argument(
        "--view-type",
        default="NEW_AND_OLD_IMAGES",
        choices=("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"),
        help="the stream's view type (default: NEW_AND_OLD_IMAGES)",
    )
    generate.add_argument("--ttl", action="store_true", help="remove: a TTL expiry")
    generate.add_argument("--table", default="Orders", help="table name (default: Orders)")
    generate.add_argument("--region", default="us-east-1", help="region (default: us-east-1)")
    generate.set_defaults(run=run)


def _parse_item(text: str | None, what: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        item = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise CliError(f"{what}: not JSON ({error}): {text!r}") from error
    if not isinstance(item, dict):
        raise CliError(f"{what}: must be a JSON object, got {text!r}")
    return item


def run(args: argparse.Namespace) -> int:
    """Print a realistic Lambda DynamoDB stream event for one change."""
    from ..testing import StreamEventFactory

    item = _parse_item(args.item, "--item")
    old = _parse_item(args.old, "--old")
    assert item is not None
    keys = tuple(k.strip() for k in args.keys.split(",") if k.strip())
    missing = [k for k in keys if k not in item]
    if missing:
        raise CliError(
            f"--item lacks the key attribute(s) {', '.join(missing)}: {args.item}; "
            "name your table's key with --keys (e.g. --keys pk or --keys pk,sk)"
        )
    if args.ttl and args.change != "remove":
        raise CliError("--ttl only applies to remove")
    try:
        factory = StreamEventFactory(
            key_names=keys, table_name=args.table, view_type=args.view_type, region=args.region
        )
    except ValueError as error:
        raise CliError(str(error)) from error
    if args.change == "insert":
        record = factory.insert(item)
    elif args.change == "modify":
        if old is None:
            raise CliError("modify needs --old (the item before the change)")
        record = factory.modify(old, item)
    else:
        record = factory.remove(item, ttl=args.ttl)
    print(json.dumps(factory.event(record), indent=2))
    return 0
