"""Shard leases and checkpoints in a DynamoDB table.

One row per shard of the consumed stream:

=================== ==== ==========================================================
attribute           type meaning
=================== ==== ==========================================================
``shardId``         S    partition key: the stream's shard id
``streamArn``       S    the stream the shard belongs to
``owner``           S    the worker holding the lease; absent when nobody does
``leaseExpiresAt``  N    epoch milliseconds; past it, another worker may take the lease
``leaseCounter``    N    incremented by every take, steal, renewal and checkpoint
``wantedBy``        S    a worker asking the owner to hand the lease over (load balancing)
``checkpoint``      S    the last sequence number processed; absent before the first
``finished``        BOOL the shard is closed and read to its end (its children may start)
``parentShardId``   S    the parent shard, when the stream reported one
``startingPosition`` S   where a shard without a checkpoint starts: TRIM_HORIZON or LATEST
=================== ==== ==========================================================

Every change of ownership is a conditional write, so two workers never hold
one shard: a take succeeds only if nobody owns the row or its lease has
expired; a renewal, a checkpoint and a release succeed only while the writer
still owns it *and* the counter is still the one it last wrote, so a write
based on a stale view of the row (a worker that was paused while its lease
was taken, and maybe given back) is refused. Expiry compares wall clocks
(epoch ms) across processes, so workers' clocks must agree to well within
the lease duration (NTP does).

Shard ids are only unique within a stream (the local emulator even reuses
them across tables), so use one lease table per stream and application; a
row of another stream under the same shard id is refused, not overwritten.

Rows do not pile up: a DynamoDB stream rolls its shards over every few hours,
so a row is deleted once it is no longer needed (:func:`prunable`): when its
shard is finished and every child shard has a row that has started, or when
its shard is finished and gone from the stream (trimmed after 24 h). A deleted
parent's row is never added back (:func:`pruned_ancestors`, and
:func:`has_started_descendant` against a Scan that is not a snapshot), which
would replay the parent; its children no longer wait for it, as they would not
for a finished one. This is the Kinesis Client Library's lease clean-up.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from ..streams.aws_errors import error_code

#: The lease table's key attribute.
LEASE_KEY = "shardId"


class LeaseTableError(RuntimeError):
    """The lease table is missing, has the wrong key, or holds another stream's shard."""


@dataclass(frozen=True)
class Lease:
    """One row of the lease table."""

    shard_id: str
    stream_arn: str
    owner: str | None = None
    expires_at_ms: int = 0
    checkpoint: str | None = None
    finished: bool = False
    parent_shard_id: str | None = None
    starting_position: str = "TRIM_HORIZON"
    #: ``leaseCounter``: changes with every write of an owner, so a write can be fenced on it.
    counter: int = 0
    #: ``wantedBy``: another worker asked for this lease; the owner hands it over between batches.
    wanted_by: str | None = None

    def live(self, now_ms: int) -> bool:
        """Held by someone whose lease has not expired."""
        return self.owner is not None and self.expires_at_ms > now_ms

    @property
    def started(self) -> bool:
        """Read from: it has a checkpoint, or it is finished."""
        return self.checkpoint is not None or self.finished

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Lease:
        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else value["S"]

        return cls(
            shard_id=item[LEASE_KEY]["S"],
            stream_arn=text("streamArn") or "",
            owner=text("owner"),
            expires_at_ms=int(item.get("leaseExpiresAt", {}).get("N", "0")),
            checkpoint=text("checkpoint"),
            finished=bool(item.get("finished", {}).get("BOOL", False)),
            parent_shard_id=text("parentShardId"),
            starting_position=text("startingPosition") or "TRIM_HORIZON",
            counter=int(item.get("leaseCounter", {}).get("N", "0")),
            wanted_by=text("wantedBy"),
        )


def ensure_lease_table(client: Any, name: str, *, wait: bool = True) -> bool:
    """Create the lease table ``name`` (PAY_PER_REQUEST, key ``shardId`` S) unless it exists.

    :param client: a boto3 ``dynamodb`` client.
    :param wait: wait until the table is ACTIVE. @default True.
    :returns: True when this call created the table.
    :raises LeaseTableError: a table of that name exists with another key schema.
    """
    try:
        check_lease_table(client, name)
        return False
    except LeaseTableError as error:
        if not isinstance(error.__cause__, ClientError):
            raise  # it exists but is unusable: never replace a user's table
    try:
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": LEASE_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": LEASE_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as error:
        if error_code(error) != "ResourceInUseException":  # created by another worker meanwhile
            raise
    if wait:
        client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    return True


def check_lease_table(client: Any, name: str) -> None:
    """Raise :class:`LeaseTableError` unless ``name`` exists with partition key ``shardId`` (S)."""
    try:
        table = client.describe_table(TableName=name)["Table"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise LeaseTableError(
                f"lease table {name!r} does not exist; create it with "
                f"cdk_streams.consumer.ensure_lease_table(client, {name!r}) (partition key "
                "shardId, type S, PAY_PER_REQUEST) or pass create_lease_table=True"
            ) from error
        raise
    keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    if keys != {LEASE_KEY: "HASH"} or types.get(LEASE_KEY) != "S":
        raise LeaseTableError(
            f"table {name!r} cannot hold leases: its key schema is {table.get('KeySchema')}, "
            "expected only a partition key shardId of type S"
        )


class LeaseTable:
    """The lease rows of one stream, read and written with conditional writes.

    :param client: a boto3 ``dynamodb`` client.
    :param table_name: the lease table (see :func:`ensure_lease_table`).
    :param stream_arn: the stream whose shards are leased.
    :param worker_id: this worker's name, written as ``owner``.
    :param lease_duration: seconds a take or renewal holds the lease. @default 10.0.
    :param clock: epoch seconds, shared by every worker. @default time.time.
    """

    def __init__(
        self,
        client: Any,
        table_name: str,
        stream_arn: str,
        worker_id: str,
        *,
        lease_duration: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not lease_duration > 0:  # refuses NaN too
            raise ValueError(f"lease_duration must be positive seconds, got {lease_duration}")
        self.client = client
        self.table_name = table_name
        self.stream_arn = stream_arn
        self.worker_id = worker_id
        self.lease_duration = lease_duration
        self._clock = clock

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _expiry(self) -> int:
        return self.now_ms() + int(self.lease_duration * 1000)

    def scan(self) -> dict[str, Lease]:
        """Every row of this stream, by shard id (strongly consistent)."""
        out: dict[str, Lease] = {}
        kwargs: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True}
        while True:
            page = self.client.scan(**kwargs)
            for item in page.get("Items", []):
                lease = Lease.from_item(item)
                if lease.stream_arn == self.stream_arn:
                    out[lease.shard_id] = lease
            last = page.get("LastEvaluatedKey")
            if not last:
                return out
            kwargs["ExclusiveStartKey"] = last

    def create(
        self,
        shard_id: str,
        *,
        parent_shard_id: str | None,
        starting_position: str,
        finished: bool = False,
    ) -> Lease:
        """Add the row of a newly seen shard, unless another worker already did.

        :returns: the row as it now stands.
        :raises LeaseTableError: the shard id is taken by another stream's row.
        """
        item: dict[str, Any] = {
            LEASE_KEY: {"S": shard_id},
            "streamArn": {"S": self.stream_arn},
            "leaseExpiresAt": {"N": "0"},
            "finished": {"BOOL": finished},
            "startingPosition": {"S": starting_position},
        }
        if parent_shard_id:
            item["parentShardId"] = {"S": parent_shard_id}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(shardId)",
            )
            return Lease.from_item(item)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
        existing = self.get(shard_id)
        if existing is None:  # pragma: no cover - deleted between the two calls
            return self.create(
                shard_id,
                parent_shard_id=parent_shard_id,
                starting_position=starting_position,
                finished=finished,
            )
        return existing

    def get(self, shard_id: str) -> Lease | None:
        """The row of ``shard_id``; raises if it belongs to another stream."""
        item = self.client.get_item(
            TableName=self.table_name, Key={LEASE_KEY: {"S": shard_id}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        lease = Lease.from_item(item)
        if lease.stream_arn != self.stream_arn:
            raise LeaseTableError(
                f"lease table {self.table_name!r} already holds shard {shard_id!r} of stream "
                f"{lease.stream_arn!r}, not of {self.stream_arn!r}; use one lease table per "
                "stream and application"
            )
        return lease

    def _update(
        self,
        shard_id: str,
        update: str,
        condition: str,
        values: dict[str, Any],
    ) -> Lease | None:
        """One conditional UpdateItem; None when the condition does not hold."""
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={LEASE_KEY: {"S": shard_id}},
                UpdateExpression=update,
                # The row must exist and be this stream's: an update never creates a row.
                ConditionExpression=f"streamArn = :arn AND ({condition})",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":arn": {"S": self.stream_arn}, **values},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return Lease.from_item(response["Attributes"])

    def take(self, shard_id: str) -> Lease | None:
        """Take a lease nobody holds, or whose holder let it expire. None if someone has it.

        The returned row carries the checkpoint to resume after, read in the
        same write, so no other worker's checkpoint can slip in between.
        """
        now = self.now_ms()
        return self._update(
            shard_id,
            "SET #o = :me, leaseExpiresAt = :exp REMOVE wantedBy ADD leaseCounter :one",
            "finished = :false AND (attribute_not_exists(#o) OR leaseExpiresAt < :now OR #o = :me)",
            {
                ":me": {"S": self.worker_id},
                ":exp": {"N": str(self._expiry())},
                ":now": {"N": str(now)},
                ":false": {"BOOL": False},
                ":one": {"N": "1"},
            },
        )

    def steal(self, shard_id: str, victim: str) -> tuple[Lease, int] | None:
        """Take a live lease from ``victim`` by force. None if it moved on.

        The consumer itself asks instead (:meth:`request_handoff`), which never
        lets two workers process a shard at once; a forced steal is for
        operators and tests.

        :returns: the lease now held, and the victim's expiry (epoch ms) just
            before the steal, read in the same write: the victim may go on
            until then, so the thief should not read the shard sooner. The
            victim notices at its next renewal or checkpoint and stops
            processing the shard before its next callback.
        """
        expiry = self._expiry()
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={LEASE_KEY: {"S": shard_id}},
                UpdateExpression="SET #o = :me, leaseExpiresAt = :exp ADD leaseCounter :one",
                ConditionExpression="streamArn = :arn AND finished = :false AND #o = :victim",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={
                    ":arn": {"S": self.stream_arn},
                    ":me": {"S": self.worker_id},
                    ":exp": {"N": str(expiry)},
                    ":victim": {"S": victim},
                    ":false": {"BOOL": False},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        old = Lease.from_item(response["Attributes"])
        stolen = replace(old, owner=self.worker_id, expires_at_ms=expiry, counter=old.counter + 1)
        return stolen, old.expires_at_ms

    def request_handoff(self, shard_id: str, owner: str) -> bool:
        """Ask ``owner`` to hand its live lease on ``shard_id`` over (to even out the load).

        Ownership does not change here: the owner finishes its batch,
        checkpoints, and then hands the lease over with :meth:`hand_off`, so
        the two workers never process the shard at the same time. If the
        owner dies instead, its lease runs out as usual.

        :returns: False when ``owner`` no longer holds the lease.
        """
        return (
            self._update(
                shard_id,
                "SET wantedBy = :me",
                "finished = :false AND #o = :owner",
                {
                    ":me": {"S": self.worker_id},
                    ":owner": {"S": owner},
                    ":false": {"BOOL": False},
                },
            )
            is not None
        )

    def hand_off(self, shard_id: str, to_worker: str, *, counter: int | None = None) -> bool:
        """Give a held lease to ``to_worker`` (who asked for it), live for one lease duration."""
        mine, fence = self._mine(counter)
        return (
            self._update(
                shard_id,
                "SET #o = :to, leaseExpiresAt = :exp REMOVE wantedBy ADD leaseCounter :one",
                mine,
                {
                    ":me": {"S": self.worker_id},
                    ":to": {"S": to_worker},
                    ":exp": {"N": str(self._expiry())},
                    ":one": {"N": "1"},
                    **fence,
                },
            )
            is not None
        )

    @staticmethod
    def _mine(counter: int | None) -> tuple[str, dict[str, Any]]:
        """The condition "still mine", fenced on ``counter`` when it is given."""
        if counter is None:
            return "#o = :me", {}
        return "#o = :me AND leaseCounter = :n", {":n": {"N": str(counter)}}

    def renew(self, shard_id: str, *, counter: int | None = None) -> Lease | None:
        """Extend a lease this worker holds; None when it has been lost.

        :param counter: the counter this worker last saw; a row whose counter
            moved on since (someone else wrote it) is lost. @default - owner only.
        """
        mine, values = self._mine(counter)
        return self._update(
            shard_id,
            "SET leaseExpiresAt = :exp ADD leaseCounter :one",
            mine,
            {
                ":me": {"S": self.worker_id},
                ":exp": {"N": str(self._expiry())},
                ":one": {"N": "1"},
                **values,
            },
        )

    def checkpoint(
        self,
        shard_id: str,
        sequence_number: str,
        *,
        finished: bool = False,
        counter: int | None = None,
    ) -> Lease | None:
        """Record ``sequence_number`` as processed (and renew); None when the lease was lost.

        With ``finished`` the shard is done: the row keeps its checkpoint, the
        owner is removed, and the shard's children become eligible.

        :param counter: as for :meth:`renew`: the write happens only if the row
            is still exactly as this worker last wrote it. @default - owner only.
        """
        mine, fence = self._mine(counter)
        values: dict[str, Any] = {
            ":me": {"S": self.worker_id},
            ":seq": {"S": sequence_number},
            ":exp": {"N": str(self._expiry())},
            ":one": {"N": "1"},
            **fence,
        }
        if finished:
            update = (
                "SET checkpoint = :seq, finished = :true, leaseExpiresAt = :zero "
                "REMOVE #o ADD leaseCounter :one"
            )
            del values[":exp"]  # DynamoDB refuses unused expression values
            values.update({":true": {"BOOL": True}, ":zero": {"N": "0"}})
        else:
            # The checkpoint renews the lease too: one write per batch.
            update = "SET checkpoint = :seq, leaseExpiresAt = :exp ADD leaseCounter :one"
        return self._update(shard_id, update, mine, values)

    def finish(self, shard_id: str, *, counter: int | None = None) -> Lease | None:
        """Mark a shard read to its end without a new checkpoint (it held no more records)."""
        mine, fence = self._mine(counter)
        return self._update(
            shard_id,
            "SET finished = :true, leaseExpiresAt = :zero REMOVE #o ADD leaseCounter :one",
            mine,
            {
                ":me": {"S": self.worker_id},
                ":true": {"BOOL": True},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                **fence,
            },
        )

    def delete(self, shard_id: str) -> bool:
        """Delete the row of a finished shard (see :func:`prunable`).

        A finished row never changes again (nothing takes, renews or
        checkpoints it), so "still this stream's and finished" is the whole
        condition: an unfinished row is never deleted, and when two workers
        delete the same row, the second finds it gone.

        :returns: False when the row was not deleted by this call (already
            gone, or not a finished row of this stream).
        """
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={LEASE_KEY: {"S": shard_id}},
                ConditionExpression="streamArn = :arn AND finished = :true",
                ExpressionAttributeValues={":arn": {"S": self.stream_arn}, ":true": {"BOOL": True}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, shard_id: str, *, counter: int | None = None) -> bool:
        """Give a held lease up at once, so another worker can take it without waiting."""
        mine, fence = self._mine(counter)
        return (
            self._update(
                shard_id,
                "SET leaseExpiresAt = :zero REMOVE #o, wantedBy ADD leaseCounter :one",
                mine,
                {
                    ":me": {"S": self.worker_id},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    **fence,
                },
            )
            is not None
        )


@dataclass(frozen=True)
class LeasePlan:
    """What one worker should do with the leases at one moment."""

    #: Free or expired leases to take, in shard-id order (oldest shards first).
    take: tuple[str, ...] = ()
    #: (shard id, current owner) of one live lease to ask its owner for, to even out the load.
    steal: tuple[str, str] | None = None
    #: How many leases this worker aims to hold.
    target: int = 0


def eligible(leases: dict[str, Lease]) -> list[Lease]:
    """Unfinished leases whose parent is finished or unknown (trimmed, or never leased).

    A child waits for its parent, whoever reads the parent: lineage order
    holds across workers, not only inside one reader.
    """
    out = []
    for lease in leases.values():
        if lease.finished:
            continue
        parent = leases.get(lease.parent_shard_id) if lease.parent_shard_id else None
        if parent is None or parent.finished:
            out.append(lease)
    return sorted(out, key=lambda lease: lease.shard_id)


def _lineage(leases: Mapping[str, Lease], parents: Mapping[str, str | None]) -> dict[str, str]:
    """Shard id -> parent id, from the stream's description and from the rows."""
    lineage = {shard: parent for shard, parent in parents.items() if parent}
    for lease in leases.values():
        if lease.parent_shard_id:
            lineage[lease.shard_id] = lease.parent_shard_id
    return lineage


def children_of(
    leases: Mapping[str, Lease], parents: Mapping[str, str | None]
) -> dict[str, list[str]]:
    """Shard id -> ids of its child shards, from the stream's description and from the rows."""
    children: dict[str, list[str]] = {}
    for shard, parent in sorted(_lineage(leases, parents).items()):
        children.setdefault(parent, []).append(shard)
    return children


def in_stream(shard_id: str, parent_id: str | None, listed: Collection[str]) -> bool:
    """Whether the stream may still have ``shard_id``, judged by one listing of it.

    True when the listing has the shard, or its parent: a shard is trimmed 24 h
    after it closed, and a child opens when its parent closes, so the stream
    drops the parent first. A listing that lacks a shard whose parent it still
    has is behind (one DescribeStream may miss a new shard that another worker's
    already showed), not a sign of a trimmed shard.
    """
    return shard_id in listed or (parent_id is not None and parent_id in listed)


def prunable(
    leases: Mapping[str, Lease],
    parents: Mapping[str, str | None],
    *,
    listed: Collection[str] | None = None,
) -> list[Lease]:
    """The finished leases whose rows may be deleted, in shard-id order — pure, for tests.

    A finished lease goes once it has at least one child shard and every child
    has a row that has started (a checkpoint, or finished): the children no
    longer need it for per-key order, and :func:`pruned_ancestors` keeps it
    from being added back. A child without a row yet, or one not read yet,
    keeps its parent's row. With ``listed``, a finished lease whose shard the
    stream no longer lists (trimmed, 24 h after it closed) goes too, children
    or not: a shard of a disabled stream never gets any.

    :param leases: the rows of the stream, by shard id.
    :param parents: shard id -> parent id, as the stream described the shards.
    :param listed: the shard ids the stream lists now. @default - not known,
        so nothing goes for being trimmed.
    """
    children = children_of(leases, parents)
    out = []
    for lease in leases.values():
        if not lease.finished:
            continue
        kids = children.get(lease.shard_id, [])
        read = bool(kids) and all(k in leases and leases[k].started for k in kids)
        trimmed = listed is not None and lease.shard_id not in listed
        if read or trimmed:
            out.append(lease)
    return sorted(out, key=lambda lease: lease.shard_id)


def pruned_ancestors(leases: Mapping[str, Lease], parents: Mapping[str, str | None]) -> set[str]:
    """Ancestors of a started lease: shards whose rows may have been deleted.

    Such a shard still listed by the stream must not get a new row: the row
    would start it over and replay the records after which its descendants
    were already processed.
    """
    lineage = _lineage(leases, parents)
    out: set[str] = set()
    for lease in leases.values():
        if not lease.started:
            continue
        parent = lineage.get(lease.shard_id)
        while parent is not None and parent not in out:
            out.add(parent)
            parent = lineage.get(parent)
    return out


def has_started_descendant(
    shard_id: str,
    children: Mapping[str, Sequence[str]],
    get: Callable[[str], Lease | None],
) -> bool:
    """Whether a descendant of ``shard_id`` has started, by the rows ``get`` reads now.

    A row is deleted (:func:`prunable`) only once every child of its shard has
    started, and a started row stays started, so a shard whose row was deleted
    has a started descendant with a row: a child, or, when that child's row was
    deleted in turn, one of its children, down to the open shards, whose rows
    are never deleted. A descendant whose row exists but has not started ends
    its branch: its own children wait for it.

    :param shard_id: the shard that has no row.
    :param children: shard id -> its child shards (:func:`children_of`).
    :param get: the row of a shard, or None (a consistent GetItem).
    """
    todo = list(children.get(shard_id, ()))
    seen: set[str] = set()
    while todo:
        shard = todo.pop()
        if shard in seen:
            continue
        seen.add(shard)
        row = get(shard)
        if row is None:
            todo.extend(children.get(shard, ()))
        elif row.started:
            return True
    return False


def plan_leases(
    leases: dict[str, Lease],
    worker_id: str,
    now_ms: int,
    *,
    held: Iterable[str] = (),
    max_leases: int | None = None,
) -> LeasePlan:
    """Decide which leases to take (and at most one to steal) — pure, for tests.

    The target is this worker's fair share: ``ceil(eligible shards / live
    workers)``, where live workers are the owners of unexpired leases plus
    this one, capped by ``max_leases``. A worker takes free or expired leases
    up to its target. When there are none and some worker holds more than the
    target, it steals one lease from the busiest: a worker that holds nothing
    is invisible to the others, so the newcomer has to ask. One steal per
    round keeps the shards from bouncing between workers.
    """
    candidates = eligible(leases)
    held_set = {s for s in held if s in leases}
    owners: dict[str, list[str]] = {}
    for lease in candidates:
        if lease.live(now_ms) and lease.owner is not None and lease.owner != worker_id:
            owners.setdefault(lease.owner, []).append(lease.shard_id)
    workers = len(owners) + 1
    target = math.ceil(len(candidates) / workers) if candidates else 0
    if max_leases is not None:
        target = min(target, max_leases)
    room = target - len(held_set)
    if room <= 0:
        return LeasePlan(target=target)
    free = tuple(
        lease.shard_id
        for lease in candidates
        if lease.shard_id not in held_set and not lease.live(now_ms)
    )
    if free:
        return LeasePlan(take=free[:room], target=target)
    busiest = max(owners.items(), key=lambda item: (len(item[1]), item[0]), default=None)
    if busiest is not None and len(busiest[1]) > target:
        owner, shards = busiest
        return LeasePlan(steal=(max(shards), owner), target=target)
    return LeasePlan(target=target)
