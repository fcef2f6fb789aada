"""What a consumer did: counts of batches, records, checkpoints and leases."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ConsumerStats:
    """What a consumer did."""

    #: Callback calls (first attempts and retries).
    batches: int = 0
    #: Records handed to the callback, redeliveries included.
    delivered: int = 0
    #: Records processed and checkpointed.
    processed: int = 0
    retries: int = 0
    #: Records the on-failure hook accepted as handled (checkpointed past).
    skipped: int = 0
    checkpoints: int = 0
    leases_taken: int = 0
    leases_stolen: int = 0
    leases_lost: int = 0
    leases_released: int = 0
    shards_finished: int = 0
    #: Rows of finished shards deleted from the lease table (no longer needed).
    leases_deleted: int = 0

    def __str__(self) -> str:
        return (
            f"processed {self.processed} record(s) in {self.batches} batch(es) "
            f"({self.delivered} delivered, {self.retries} "
            f"retr{'y' if self.retries == 1 else 'ies'}, "
            f"{self.skipped} skipped by on_failure); leases: {self.leases_taken} taken, "
            f"{self.leases_stolen} stolen, {self.leases_lost} lost, "
            f"{self.leases_released} released, {self.leases_deleted} deleted; "
            f"{self.shards_finished} shard(s) finished"
        )
