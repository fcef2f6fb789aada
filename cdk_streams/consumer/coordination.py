"""Lease coordination: which shards this worker holds, kept alive in the background.

:class:`LeaseCoordinator` takes this worker's fair share of the leases, renews
them from a background thread (so a callback may run longer than the lease),
checkpoints with a write fenced on the lease's owner *and* counter, hands a
lease over when another worker asks for it, and releases everything at the
end. The run loop asks :meth:`LeaseCoordinator.owns` before every callback:
a lease that was lost, or that this worker could not renew in time, stops
delivery of its shard at once.

Each round also deletes the rows that are no longer needed (see
:func:`~cdk_streams.consumer.leases.prunable`), so the table, and the scan of
it every round, stays the size of the stream's live shards.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..streams.shard_reader import ShardInfo
from .aws_retry import AwsRetry, is_transient
from .leases import (
    Lease,
    LeaseTable,
    children_of,
    eligible,
    has_started_descendant,
    in_stream,
    plan_leases,
    prunable,
    pruned_ancestors,
)
from .stats import ConsumerStats

log = logging.getLogger("cdk_streams.consumer")


@dataclass
class HeldLease:
    """A lease this worker holds, as this worker last wrote it."""

    shard_id: str
    #: The row's ``leaseCounter`` after this worker's last write: every write is fenced on it.
    counter: int
    #: Epoch ms: this worker's own, conservative end of the lease (the time
    #: the last renewal was *sent*, plus the lease duration).
    expires_at_ms: int
    renewed_at_ms: int
    checkpoint: str | None = None
    #: Where the shard starts when it has no checkpoint yet.
    starting_position: str = "TRIM_HORIZON"
    #: Another worker asked for the lease: hand it over after the current batch.
    wanted_by: str | None = None


class LeaseCoordinator:
    """This worker's leases: take, renew (also in the background), checkpoint, hand over, release.

    Thread-safe: the background renewal and the run loop share one lock, and
    each write carries the counter of the one before.

    :param leases: the lease table of the stream.
    :param aws: retries transient errors of the run loop's calls.
    :param stats: counts leases taken, lost, released.
    :param lease_duration: seconds a lease lasts without renewal.
    :param max_leases: the most shards to hold. @default - the fair share.
    :param list_shards: the shard ids the stream lists now (a DescribeStream),
        to delete the rows of finished shards trimmed from the stream, and to
        tell whether a row that vanished unfinished still has a shard.
        @default - none: such rows stay until their children have started, and
        a vanished row is always added back.
    :param trim_check_interval: seconds between two calls of ``list_shards``,
        made only while finished rows are left. @default 3600.0 (a shard is
        trimmed 24 h after it closed: an hour late costs nothing, and one
        DescribeStream an hour stays well inside its 10 calls a second).
    """

    def __init__(
        self,
        leases: LeaseTable,
        *,
        aws: AwsRetry,
        stats: ConsumerStats,
        lease_duration: float,
        max_leases: int | None = None,
        list_shards: Callable[[], Collection[str]] | None = None,
        trim_check_interval: float = 3600.0,
    ) -> None:
        self.leases = leases
        self.aws = aws
        self.stats = stats
        self.lease_duration_ms = int(lease_duration * 1000)
        self.max_leases = max_leases
        self.list_shards = list_shards
        self.trim_check_interval_ms = int(trim_check_interval * 1000)
        self._next_trim_check_ms = 0
        #: Shards whose rows are gone for good: the rows this worker saw finished
        #: (only a finished row is ever pruned, so one that disappears was pruned)
        #: and the shards it found pruned or trimmed before adding a row. Never
        #: added back: that would read them again.
        self._pruned: set[str] = set()
        #: Every shard whose row this worker has seen. An unfinished one that
        #: disappears was deleted by hand (or reset), and is added back, unless
        #: another worker deleted it because its shard was trimmed (see _to_add).
        self._seen_rows: set[str] = set()
        #: Owners of the leases this worker said it waits for, since it last held one.
        self._announced_waits: set[str] = set()
        self._held: dict[str, HeldLease] = {}
        self._lost: list[str] = []
        self._lock = threading.RLock()
        self._renewer: threading.Thread | None = None
        self._stop_renewing = threading.Event()

    @property
    def worker_id(self) -> str:
        return self.leases.worker_id

    def held_shards(self) -> list[str]:
        with self._lock:
            return sorted(self._held)

    def held(self, shard_id: str) -> HeldLease | None:
        with self._lock:
            return self._held.get(shard_id)

    def take_lost(self) -> list[str]:
        """The shards lost since the last call (their reader positions are stale)."""
        with self._lock:
            lost, self._lost = self._lost, []
            return lost

    # -- acquiring ---------------------------------------------------------------

    def acquire(self, shards: Sequence[ShardInfo], starting_position: str) -> list[Lease]:
        """Add rows for new shards, renew what is held, take a fair share; return new leases.

        Shards seen when the stream had no rows at all start at
        ``starting_position``; later ones are new shards (splits), whose every
        record is new, so they start at TRIM_HORIZON. The rows no longer
        needed are deleted (:meth:`prune`), and never added back.
        """
        rows = self.aws.call("Scan of the lease table", self.leases.scan)
        first = not rows
        position = starting_position if first else "TRIM_HORIZON"
        parents = {info.shard_id: info.parent_id for info in shards}
        pruned = pruned_ancestors(rows, parents) | (self._pruned - rows.keys())
        missing = [s for s in shards if s.shard_id not in rows and s.shard_id not in pruned]
        for info in self._to_add(missing, rows, parents, first=first):
            rows[info.shard_id] = self.aws.call(
                "PutItem of a lease row",
                self.leases.create,
                info.shard_id,
                parent_shard_id=info.parent_id,
                starting_position=position,
                # LATEST means "from now on": a shard already closed has nothing new.
                finished=first and position == "LATEST" and info.closed,
            )
        self._seen_rows.update(rows)
        self._pruned.update(r.shard_id for r in rows.values() if r.finished)
        for shard_id in self.prune(rows, parents):
            del rows[shard_id]
        self.renew_all()
        acquired: list[Lease] = []
        now = self.leases.now_ms()
        with self._lock:
            held = set(self._held)
        # Leases handed over to this worker by their previous owner.
        handed = [
            shard_id
            for shard_id, row in rows.items()
            if row.owner == self.worker_id and shard_id not in held and not row.finished
        ]
        plan = plan_leases(
            rows, self.worker_id, now, held=held | set(handed), max_leases=self.max_leases
        )
        for shard_id in [*handed, *plan.take]:
            lease = self.aws.call("UpdateItem taking a lease", self.leases.take, shard_id)
            if lease is not None:
                self.stats.leases_taken += 1
                self._hold(lease)
                acquired.append(lease)
        # One request at a time: asking again before the answer could move more
        # leases than the fair share and make them bounce.
        pending = any(
            r.wanted_by == self.worker_id and r.owner != self.worker_id for r in rows.values()
        )
        if plan.steal is not None and not pending:
            shard_id, owner = plan.steal
            asked = self.aws.call(
                "UpdateItem asking for a lease", self.leases.request_handoff, shard_id, owner
            )
            if asked:
                self.stats.leases_stolen += 1
                log.info("asked %s to hand shard %s over, to even out the load", owner, shard_id)
        self._announce_wait(rows, now)
        return acquired

    def _to_add(
        self,
        missing: Sequence[ShardInfo],
        rows: dict[str, Lease],
        parents: dict[str, str | None],
        *,
        first: bool,
    ) -> list[ShardInfo]:
        """The shards of ``missing`` (in the stream, no row in the Scan) that get a row now.

        Most are new shards. Two kinds may not be:

        * A shard with child shards may have been read and its row deleted,
          although this Scan shows no started child: a paginated Scan is not a
          snapshot, so a child read as "not started" on an early page may have
          been checkpointed, and its parent's row deleted, before a later page
          was read. A new row would replay the shard from TRIM_HORIZON. Such a
          deletion happened before the Scan ended and after every child had
          started, and a started row stays started, so reading the children's
          rows again now (consistent GetItem; only for these rare shards) finds
          a started child, or, when its row was deleted in turn, a started
          descendant (:func:`~.leases.has_started_descendant`). Skipped when the
          table was empty: the rows of open shards are never deleted, so nothing
          was.
        * A row this worker saw unfinished and no longer finds was deleted by
          hand (added back, so the shard is read again), or by a worker that
          found its shard trimmed. This worker's reader may still list a trimmed
          shard: added back, its row would be taken, found trimmed and deleted
          again, round after round. So the stream is asked first (one
          DescribeStream, only when such a row vanished).
        """
        children = children_of(rows, parents)
        got: dict[str, Lease | None] = {}

        def get(shard_id: str) -> Lease | None:
            if shard_id not in got:
                got[shard_id] = self.aws.call("GetItem of a lease row", self.leases.get, shard_id)
            return got[shard_id]

        listed: set[str] | None = None
        out = []
        for info in missing:
            if info.shard_id in self._seen_rows and self.list_shards is not None:
                if listed is None:
                    listed = set(self.aws.call("DescribeStream", self.list_shards))
                if not in_stream(info.shard_id, info.parent_id, listed):
                    self._pruned.add(info.shard_id)
                    log.info(
                        "not adding back the row of shard %s: the stream no longer lists it",
                        info.shard_id,
                    )
                    continue
            if not first and has_started_descendant(info.shard_id, children, get):
                self._pruned.add(info.shard_id)
                log.info(
                    "not adding a row for shard %s: a child shard has started, so it was read "
                    "and its row deleted",
                    info.shard_id,
                )
                continue
            out.append(info)
        return out

    def _announce_wait(self, rows: dict[str, Lease], now_ms: int) -> None:
        """Say once what a worker holding nothing waits for (after a restart, the dead
        process's lease: up to a lease duration of silence otherwise)."""
        with self._lock:
            holding = bool(self._held)
        if holding:
            self._announced_waits.clear()
            return
        others = [r for r in eligible(rows) if r.live(now_ms) and r.owner != self.worker_id]
        if not others:
            return
        soonest = min(others, key=lambda lease: (lease.expires_at_ms, lease.shard_id))
        if soonest.owner is None or soonest.owner in self._announced_waits:
            return
        self._announced_waits.add(soonest.owner)
        until = datetime.fromtimestamp(soonest.expires_at_ms / 1000).astimezone()
        log.info(
            "waiting for a lease held by another worker: shard %s is held by %s until %s "
            "(%.1f s from now), then taken over unless that worker renews it",
            soonest.shard_id,
            soonest.owner,
            until.isoformat(timespec="milliseconds"),
            (soonest.expires_at_ms - now_ms) / 1000,
        )

    def prune(self, rows: dict[str, Lease], parents: dict[str, str | None]) -> list[str]:
        """Delete the rows no longer needed (:func:`~.leases.prunable`); return their shard ids.

        Every worker prunes: the deletes are conditional, so when two delete
        the same row, one succeeds and the other finds it gone. Whether a
        finished shard was trimmed is asked of the stream only while finished
        rows are left, and at most every ``trim_check_interval``.
        """
        reasons = {
            lease.shard_id: "its child shards have started" for lease in prunable(rows, parents)
        }
        left = [r for r in rows.values() if r.finished and r.shard_id not in reasons]
        now = self.leases.now_ms()
        if left and self.list_shards is not None and now >= self._next_trim_check_ms:
            self._next_trim_check_ms = now + self.trim_check_interval_ms
            listed = set(self.aws.call("DescribeStream", self.list_shards))
            for lease in prunable(rows, parents, listed=listed):
                reasons.setdefault(lease.shard_id, "the stream no longer lists it (trimmed)")
        deleted = []
        for shard_id in sorted(reasons):
            if self.aws.call("DeleteItem of a finished lease", self.leases.delete, shard_id):
                self.stats.leases_deleted += 1
                log.info(
                    "deleted the lease row of finished shard %s: %s", shard_id, reasons[shard_id]
                )
            deleted.append(shard_id)
        return deleted

    def _hold(self, lease: Lease) -> None:
        now = self.leases.now_ms()
        with self._lock:
            self._held[lease.shard_id] = HeldLease(
                lease.shard_id,
                counter=lease.counter,
                expires_at_ms=now + self.lease_duration_ms,
                renewed_at_ms=now,
                checkpoint=lease.checkpoint,
                starting_position=lease.starting_position,
            )

    # -- keeping -------------------------------------------------------------------

    def _update(self, held: HeldLease, lease: Lease, sent_ms: int) -> None:
        held.counter = lease.counter
        held.expires_at_ms = sent_ms + self.lease_duration_ms
        held.renewed_at_ms = sent_ms
        if lease.wanted_by and lease.wanted_by != self.worker_id:
            held.wanted_by = lease.wanted_by

    def _lose(self, shard_id: str) -> None:
        with self._lock:
            if self._held.pop(shard_id, None) is None:
                return
            self._lost.append(shard_id)
        self.stats.leases_lost += 1
        log.warning("lost the lease of shard %s to another worker; stopped delivering it", shard_id)

    def _renew(self, held: HeldLease) -> None:
        """One renewal attempt; a transient error leaves the lease to the next attempt."""
        sent = self.leases.now_ms()
        try:
            lease = self.leases.renew(held.shard_id, counter=held.counter)
        except Exception as error:
            if not is_transient(error):
                raise
            log.warning("could not renew the lease of shard %s: %s", held.shard_id, error)
            return
        if lease is None:
            self._lose(held.shard_id)
        else:
            self._update(held, lease, sent)

    def renew_all(self) -> None:
        """Renew every held lease now (one attempt each)."""
        with self._lock:
            for held in list(self._held.values()):
                self._renew(held)

    def owns(self, shard_id: str) -> bool:
        """Still ours and, by this worker's clock, unexpired (renewed when a third has passed).

        False means: do not start a callback on this shard now. After a lost
        lease it stays False; after failed renewals (an outage) it turns True
        again once a renewal succeeds, if nobody took the lease meanwhile.
        """
        with self._lock:
            held = self._held.get(shard_id)
            if held is None:
                return False
            now = self.leases.now_ms()
            if now >= held.renewed_at_ms + self.lease_duration_ms // 3:
                self._renew(held)
                if shard_id not in self._held:
                    return False
            return self.leases.now_ms() < held.expires_at_ms

    def start_renewing(self, interval: float, wait: Callable[[float], bool] | None = None) -> None:
        """Renew every ``interval`` seconds on a daemon thread until :meth:`stop_renewing`."""
        if self._renewer is not None:
            return
        self._stop_renewing.clear()
        pause = wait or self._stop_renewing.wait

        def loop() -> None:
            while not pause(interval) and not self._stop_renewing.is_set():
                try:
                    self.renew_all()
                except Exception:  # a bug or a refusal: the run loop's own calls report it
                    log.warning("lease renewal failed", exc_info=log.isEnabledFor(logging.DEBUG))

        self._renewer = threading.Thread(target=loop, name="lease-renewal", daemon=True)
        self._renewer.start()

    def stop_renewing(self) -> None:
        self._stop_renewing.set()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(timeout=5)
        self._renewer = None

    # -- writing -------------------------------------------------------------------

    def checkpoint(self, shard_id: str, sequence_number: str) -> bool:
        """Record ``sequence_number`` as processed, fenced on owner and counter.

        :returns: False when the lease was lost: nothing was written, and the
            shard is no longer held.
        """
        with self._lock:
            held = self._held.get(shard_id)
            if held is None:
                return False
            sent = self.leases.now_ms()
            lease = self.aws.call(
                "UpdateItem writing a checkpoint",
                self.leases.checkpoint,
                shard_id,
                sequence_number,
                counter=held.counter,
            )
            if lease is None:
                # Taken over during the batch: the taker resumes from the previous
                # checkpoint, so this batch will be delivered again (at least once).
                self._lose(shard_id)
                return False
            self._update(held, lease, sent)
            held.checkpoint = sequence_number
        self.stats.checkpoints += 1
        return True

    def finish(self, shard_id: str, *, trimmed: bool = False) -> None:
        """Mark the shard read to its end (its children may be taken now) and let it go.

        :param trimmed: the stream no longer lists the shard, so nothing is
            left to read and its row goes at once instead of at the next
            trim check. @default False.
        """
        with self._lock:
            held = self._held.get(shard_id)
            if held is None:
                return
            lease = self.aws.call(
                "UpdateItem finishing a shard", self.leases.finish, shard_id, counter=held.counter
            )
            if lease is None:
                self._lose(shard_id)
                return
            del self._held[shard_id]
            # Another worker may prune the row before this one scans it finished; this
            # worker's reader still lists the shard, and must not add the row back.
            self._pruned.add(shard_id)
        self.stats.shards_finished += 1
        if not trimmed:
            log.info("shard %s read to its end", shard_id)
            return
        if self.aws.call("DeleteItem of a finished lease", self.leases.delete, shard_id):
            self.stats.leases_deleted += 1
            log.info("deleted the lease row of shard %s: the stream no longer lists it", shard_id)

    def release(self, shard_id: str) -> bool:
        """Give one held lease up at once (fenced on the counter), for any worker to take.

        :returns: False when the lease was not held, or was lost meanwhile.
        """
        with self._lock:
            held = self._held.pop(shard_id, None)
        if held is None:
            return False
        released = self.aws.call(
            "UpdateItem releasing a lease", self.leases.release, shard_id, counter=held.counter
        )
        if released:
            self.stats.leases_released += 1
        return bool(released)

    def hand_off(self, shard_id: str) -> bool:
        """Give the lease to the worker that asked for it (between batches)."""
        with self._lock:
            held = self._held.pop(shard_id, None)
            if held is None or held.wanted_by is None:
                return False
            given = self.aws.call(
                "UpdateItem handing a lease over",
                self.leases.hand_off,
                shard_id,
                held.wanted_by,
                counter=held.counter,
            )
        if given:
            self.stats.leases_released += 1
            log.info("handed shard %s over to %s", shard_id, held.wanted_by)
        return given

    def abandon(self, shard_id: str) -> None:
        """Stop holding ``shard_id`` without writing: its lease runs out by itself."""
        with self._lock:
            self._held.pop(shard_id, None)

    def release_all(self) -> None:
        """Release every held lease, one attempt each; never raises.

        A lease that cannot be released (AWS unreachable) simply runs out: a
        taker waits longer, nothing is lost. Called while stopping, so an
        error here must not hide the reason for stopping.
        """
        with self._lock:
            held = list(self._held.values())
            self._held.clear()
        for lease in held:
            try:
                if self.leases.release(lease.shard_id, counter=lease.counter):
                    self.stats.leases_released += 1
            except Exception as error:
                log.warning(
                    "could not release the lease of shard %s (%s: %s); it runs out by itself",
                    lease.shard_id,
                    type(error).__name__,
                    error,
                )
