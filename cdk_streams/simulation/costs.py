"""What a mapping's function costs a month: Lambda duration and requests, and the
on-failure messages.

Prices are inputs (:class:`Prices`); :data:`LIST_PRICES` holds AWS's us-east-1
list prices with their sources. They are what the pricing pages listed in 2025
and have not been checked against the live pages since: pass your own
``Prices`` for another region, a savings plan or newer prices.

* Lambda bills each invocation's duration rounded up to the millisecond, times
  the memory in GB (GB-seconds), at the architecture's price, plus a price per
  million requests. The free tier (400,000 GB-s and 1 M requests a month,
  shared by the whole account) and the cheaper tiers above 6 billion GB-s a
  month are left out.
* Reading a DynamoDB stream costs nothing when Lambda reads it ("GetRecords
  API calls invoked by AWS Lambda as part of DynamoDB triggers are free").
* Each on-failure record is one SQS SendMessage, one SNS Publish or one S3 PUT.

A month is 730 hours: the simulated window's cost is scaled to it, so a
simulated hour of the busiest traffic gives the cost of a month at that load.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..streams.settings import ARCHITECTURES

#: Hours in a month, as AWS's pricing examples count them.
HOURS_PER_MONTH = 730
DESTINATIONS = ("sqs", "sns", "s3")


@dataclass(frozen=True)
class Prices:
    """Prices in USD, with where they come from."""

    #: Per GB-second of duration, by architecture.
    gb_second: Mapping[str, float]
    #: Per million invocations.
    requests_per_million: float
    #: Per million on-failure records, by destination kind.
    on_failure_per_million: Mapping[str, float]
    sources: tuple[str, ...] = field(default=())
    as_of: str = ""


LIST_PRICES = Prices(
    gb_second={"x86_64": 0.0000166667, "arm64": 0.0000133334},
    requests_per_million=0.20,
    # SQS standard $0.40 per million requests; SNS $0.50 per million publishes;
    # S3 Standard PUT $0.005 per 1,000 requests.
    on_failure_per_million={"sqs": 0.40, "sns": 0.50, "s3": 5.00},
    sources=(
        "https://aws.amazon.com/lambda/pricing/",
        "https://aws.amazon.com/sqs/pricing/",
        "https://aws.amazon.com/sns/pricing/",
        "https://aws.amazon.com/s3/pricing/",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    as_of="us-east-1 list prices as published in 2025, not re-checked since",
)


@dataclass(frozen=True)
class MonthlyCost:
    """A month at the simulated load, in USD."""

    gb_seconds: float
    invocations: float
    on_failure_messages: float
    compute_usd: float
    requests_usd: float
    on_failure_usd: float

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.requests_usd + self.on_failure_usd


def destination_kind(arn: str | None) -> str | None:
    """``sqs``, ``sns`` or ``s3`` for an on-failure destination ARN; None for none."""
    if not arn:
        return None
    service = arn.split(":")[2] if arn.count(":") >= 2 else ""
    if service not in DESTINATIONS:
        raise ValueError(f"an on-failure destination is an SQS, SNS or S3 ARN, got {arn!r}")
    return service


def monthly_cost(
    *,
    billed_ms: int,
    invocations: int,
    on_failure_messages: int,
    simulated_seconds: float,
    memory_mb: int,
    architecture: str,
    destination: str | None,
    prices: Prices = LIST_PRICES,
) -> MonthlyCost:
    """Scale a simulated window's usage to a month and price it."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be {' or '.join(ARCHITECTURES)}, got {architecture!r}")
    if simulated_seconds <= 0:
        raise ValueError(f"simulated_seconds must be more than 0, got {simulated_seconds}")
    scale = HOURS_PER_MONTH * 3600 / simulated_seconds
    gb_seconds = billed_ms / 1000 * memory_mb / 1024 * scale
    monthly_invocations = invocations * scale
    messages = on_failure_messages * scale
    per_message = 0.0 if destination is None else prices.on_failure_per_million[destination]
    return MonthlyCost(
        gb_seconds=gb_seconds,
        invocations=monthly_invocations,
        on_failure_messages=messages,
        compute_usd=gb_seconds * prices.gb_second[architecture],
        requests_usd=monthly_invocations / 1e6 * prices.requests_per_million,
        on_failure_usd=messages / 1e6 * per_message,
    )


def round_usd(value: float) -> float:
    """Cents, for reports."""
    return math.floor(value * 100 + 0.5) / 100
