"""ChangeRecord: one DynamoDB change record as a route receives it.

Two shapes of Lambda record carry a DynamoDB change, and both become the same
:class:`ChangeRecord`:

- a DynamoDB Streams record (``eventSource: aws:dynamodb``), with the change
  in its ``dynamodb`` object;
- a Kinesis record (``eventSource: aws:kinesis``) from a table that streams
  its changes to Kinesis Data Streams: the change is base64-encoded JSON in
  ``kinesis.data``, decoded on first use, once.
"""

from __future__ import annotations

from binascii import a2b_base64

from .attributes import Image, decode_image

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence
    from datetime import datetime
    from typing import Any

# A slot not computed yet; None is a real value (an absent image). Typed Any:
# a slot holds either it or the slot's value.
_UNSET: Any = object()

#: The ``userIdentity`` of a change made by DynamoDB's TTL (an expired item's REMOVE).
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

#: Units per second of a Kinesis change's ``ApproximateCreationDateTime``, by its
#: ``ApproximateCreationDateTimePrecision``; a change without one is in milliseconds.
CREATION_TIME_PRECISIONS = {"MILLISECOND": 1_000, "MICROSECOND": 1_000_000}


class UnidentifiableRecordError(ValueError):
    """A record has no usable sequence number.

    That is ``dynamodb.SequenceNumber`` for a DynamoDB Streams record and
    ``kinesis.sequenceNumber`` for a Kinesis record. Partial-batch responses
    identify records by sequence number, and Lambda fails the whole batch when
    an identifier is null, empty or unknown. So the router raises this from
    ``handler`` before running any route, and the whole batch fails (and is
    retried, bisected or sent to the on-failure destination according to the
    event-source mapping).
    """


class KinesisPayloadError(ValueError):
    """A Kinesis record's ``data`` is not a DynamoDB change record.

    Raised when the record's payload is first needed (its event name, keys,
    images...), which the router does inside the record's turn: the record
    fails like any record whose route raises, so it and every later record of
    the batch are reported, in order. The stream probably carries other
    producers' data; filter it out on the event-source mapping.

    :ivar sequence_number: the Kinesis ``sequenceNumber`` of the record.
    """

    def __init__(self, sequence_number: str, stream_arn: str | None, problem: str) -> None:
        self.sequence_number = sequence_number
        super().__init__(
            f"Kinesis record {sequence_number} (stream {stream_arn}) does not carry a "
            f"DynamoDB change record: {problem}"
        )


class ChangeRecord:
    """One change to one item: what changed, with images decoded only when read.

    Cheap to build: it checks the sequence number, and decodes an image
    (lazily, one attribute at a time, see
    :class:`~stream_runtime.attributes.Image`) only when a route touches it.
    A Kinesis-wrapped record (Kinesis Data Streams for DynamoDB) gives the
    same attributes as a DynamoDB Streams record of the same change, except
    ``sequence_number`` and ``event_source_arn`` (the Kinesis ones), ``raw``
    and ``view_type`` (None).

    :ivar raw: the record exactly as Lambda delivered it.
    :ivar event_name: ``"INSERT"``, ``"MODIFY"`` or ``"REMOVE"``. On a
        Kinesis record, reading it decodes the payload, and raises
        :class:`KinesisPayloadError` if the payload is not a DynamoDB change.
    :ivar sequence_number: what the router reports in ``batchItemFailures``:
        ``dynamodb.SequenceNumber``, e.g. ``"4421584500000000017450439091"``,
        or for a Kinesis record ``kinesis.sequenceNumber`` (compare as ``int``
        if you must order them).
    """

    __slots__ = (
        "_change",  # the DynamoDB change record: raw itself, or the decoded Kinesis payload
        "_changed",
        "_created",  # ApproximateCreationDateTime as delivered (DynamoDB Streams only)
        "_dynamodb",
        "_error",  # Kinesis only: why the payload is not a change record, once known
        "_keys",
        "_kinesis",  # Kinesis only: raw["kinesis"]
        "_new_image",
        "_old_image",
        "event_name",
        "raw",
        "sequence_number",
    )

    def __init__(self, raw: dict[str, Any]) -> None:
        """:raises UnidentifiableRecordError: no sequence number string."""
        try:
            dynamodb = raw["dynamodb"]
            sequence_number = dynamodb["SequenceNumber"]
        except (KeyError, TypeError):
            kinesis = raw.get("kinesis") if isinstance(raw, dict) else None
            if not isinstance(kinesis, dict):
                raise _unidentifiable(raw) from None
            # A Kinesis-wrapped change: become the subclass that decodes its
            # payload on demand. Done here, off the hot path, so that
            # ChangeRecord(raw) takes either shape and a DynamoDB Streams
            # record pays nothing for it (same slots, so the switch is allowed).
            self.__class__ = _KinesisChangeRecord
            kinesis_record: Any = self
            kinesis_record._init_kinesis(raw, kinesis)
            return
        if sequence_number.__class__ is not str or not sequence_number:
            raise _unidentifiable(raw)
        self.raw = self._change = raw
        self._dynamodb = dynamodb
        self.sequence_number: str = sequence_number
        self.event_name: str | None = raw.get("eventName")
        # Read now, while the record's dicts are in the CPU cache: the batch's
        # lag needs it from every record, and a second pass over a large batch
        # would fetch each record's dict from memory again.
        self._created: Any = (
            dynamodb.get("ApproximateCreationDateTime")
            if dynamodb.__class__ is dict
            else _created_in(dynamodb)
        )
        self._new_image = self._old_image = self._keys = self._changed = _UNSET

    @property
    def event_id(self) -> str | None:
        """The change's ``eventID``, unique per change (the payload's, for a Kinesis record)."""
        return self._change.get("eventID")

    @property
    def event_source_arn(self) -> str | None:
        """The ARN of the stream Lambda read (``eventSourceARN``): DynamoDB or Kinesis."""
        return self.raw.get("eventSourceARN")

    @property
    def view_type(self) -> str | None:
        """``KEYS_ONLY``, ``NEW_IMAGE``, ``OLD_IMAGE`` or ``NEW_AND_OLD_IMAGES``.

        None for a Kinesis record: Kinesis Data Streams for DynamoDB always
        sends both images and its records carry no ``StreamViewType``.
        """
        return self._dynamodb.get("StreamViewType")

    @property
    def size_bytes(self) -> int | None:
        """``SizeBytes``: the size of the change record."""
        return self._dynamodb.get("SizeBytes")

    @property
    def approximate_creation_time(self) -> datetime | None:
        """When the change happened, as a timezone-aware UTC datetime.

        Lambda hands a DynamoDB Streams ``ApproximateCreationDateTime`` over as
        epoch seconds; Kinesis Data Streams for DynamoDB sends epoch
        milliseconds, or microseconds when the payload's
        ``ApproximateCreationDateTimePrecision`` is ``MICROSECOND``.
        """
        seconds = self._created
        if seconds is None:
            return None
        # Imported here: datetime costs ~2 ms of cold start most handlers never use.
        from datetime import UTC, datetime

        return datetime.fromtimestamp(seconds, UTC)

    @property
    def keys(self) -> dict[str, Any]:
        """The item's key attributes, decoded (present in every view type)."""
        keys = self._keys
        if keys is _UNSET:
            keys = self._keys = decode_image(self._dynamodb.get("Keys") or {})
        return keys

    @property
    def new_image(self) -> Image | None:
        """The item after the change; None for REMOVE and for KEYS_ONLY/OLD_IMAGE streams."""
        image = self._new_image
        if image is _UNSET:
            raw = self._dynamodb.get("NewImage")
            image = self._new_image = None if raw is None else Image(raw)
        return image

    @property
    def old_image(self) -> Image | None:
        """The item before the change; None for INSERT and for KEYS_ONLY/NEW_IMAGE streams."""
        image = self._old_image
        if image is _UNSET:
            raw = self._dynamodb.get("OldImage")
            image = self._old_image = None if raw is None else Image(raw)
        return image

    # -- backfill marker (cdk_streams.operations.backfill_records.BACKFILL_MARKER) --
    @property
    def is_backfill(self) -> bool:
        """True for a record ``cdk-streams backfill`` made from an existing item (an
        INSERT marked ``"cdkStreamsBackfill": true``), not a change from the stream."""
        return self.raw.get("cdkStreamsBackfill") is True

    @property
    def is_ttl_expiry(self) -> bool:
        """True when DynamoDB's TTL process deleted the item (not a user or app)."""
        return self._change.get("userIdentity") == TTL_IDENTITY

    @property
    def changed_attributes(self) -> frozenset[str] | None:
        """Names of attributes added, removed or given a different value by a MODIFY.

        None unless this is a MODIFY record that carries both images (that is,
        a ``NEW_AND_OLD_IMAGES`` stream); an empty set when a MODIFY rewrote
        the item with equal values. Attributes whose DynamoDB JSON is equal
        are not decoded; the others are compared decoded (so a string set
        listed in another order is not a change), which caches them in the
        images.
        """
        changed = self._changed
        if changed is _UNSET:
            new, old = self.new_image, self.old_image
            if self.event_name != "MODIFY" or new is None or old is None:
                changed = None
            else:
                new_raw, old_raw = new.raw, old.raw
                changed = frozenset(
                    name
                    for name in new_raw.keys() | old_raw.keys()
                    if new_raw.get(name) != old_raw.get(name)
                    and (name not in new_raw or name not in old_raw or new[name] != old[name])
                )
            self._changed = changed
        return changed

    def _created_seconds(self) -> float | None:
        """``ApproximateCreationDateTime`` in epoch seconds, for the batch log line."""
        return self._created

    def _log_fields(self) -> dict[str, Any]:
        """Who this record is, for log lines; never raises, never decodes an image."""
        change = self._change
        return {
            "event_id": change.get("eventID"),
            "event_name": change.get("eventName"),
            "sequence_number": self.sequence_number,
            "keys": self._dynamodb.get("Keys"),
        }

    def __repr__(self) -> str:
        fields = self._log_fields()
        return (
            f"ChangeRecord(event_name={fields['event_name']!r}, "
            f"event_id={fields['event_id']!r}, sequence_number={self.sequence_number!r}, "
            f"keys={fields['keys']!r})"
        )


def _created_in(dynamodb: Any) -> Any:
    """``ApproximateCreationDateTime`` of a ``dynamodb`` object that is not a plain
    dict (a test's Mapping, say); None when it cannot be read, which must not
    fail the whole batch as building the record would."""
    try:
        return dynamodb.get("ApproximateCreationDateTime")
    except Exception:
        return None


def _unidentifiable(raw: Any) -> UnidentifiableRecordError:
    event_id = raw.get("eventID") if isinstance(raw, dict) else None
    return UnidentifiableRecordError(
        "stream record has no dynamodb.SequenceNumber, so it cannot be reported "
        f"as a partial-batch failure; failing the whole batch (eventID={event_id!r})"
    )


def oldest_creation_seconds(records: Sequence[ChangeRecord]) -> float | None:
    """The oldest ``ApproximateCreationDateTime`` of the records, in epoch seconds.

    None when no record carries one. Never raises: a Kinesis record whose
    payload cannot be decoded, or a malformed time, is left out (the record
    fails in its own turn).
    """
    oldest = None
    for record in records:
        # Seconds as they are on DynamoDB Streams records (a class check is
        # cheaper than a call per record); Kinesis: milli- or microseconds.
        created = record._created if record.__class__ is ChangeRecord else record._created_seconds()
        if (created.__class__ is int or created.__class__ is float) and (
            oldest is None or created < oldest
        ):
            oldest = created
    return oldest


def _units_per_second(dynamodb: dict[str, Any]) -> int:
    """The unit of a Kinesis change's ``ApproximateCreationDateTime``."""
    precision = dynamodb.get("ApproximateCreationDateTimePrecision")
    # A malformed payload may hold anything here, unhashable values included.
    units = CREATION_TIME_PRECISIONS.get(precision) if isinstance(precision, str) else None
    return units or CREATION_TIME_PRECISIONS["MILLISECOND"]


# The base class's slot descriptors. _KinesisChangeRecord hides these three
# slots behind properties of the same names and fills them through these.
_CHANGE_SLOT = ChangeRecord.__dict__["_change"]
_DYNAMODB_SLOT = ChangeRecord.__dict__["_dynamodb"]
_EVENT_NAME_SLOT = ChangeRecord.__dict__["event_name"]


class _KinesisChangeRecord(ChangeRecord):
    """A change that reached Lambda through Kinesis Data Streams for DynamoDB.

    ``ChangeRecord(raw)`` becomes one of these when ``raw`` is a Kinesis
    record. Its payload (``kinesis.data``: base64 of the change record's
    JSON) is decoded the first time the event name, the keys, an image or
    any other field of the change is read, and only once (a payload that
    cannot be decoded is not tried again). Building one never decodes, so a
    bad payload cannot fail the whole batch: the router reads the event name
    inside the record's turn, and a payload that is not a DynamoDB change
    fails that record, in order, with :class:`KinesisPayloadError`.
    """

    __slots__ = ()

    def _init_kinesis(self, raw: dict[str, Any], kinesis: dict[str, Any]) -> None:
        sequence_number = kinesis.get("sequenceNumber")
        if not isinstance(sequence_number, str) or not sequence_number:
            raise UnidentifiableRecordError(
                "Kinesis record has no kinesis.sequenceNumber, so it cannot be reported as a "
                f"partial-batch failure; failing the whole batch (eventID={raw.get('eventID')!r})"
            )
        self.raw = raw
        self._kinesis = kinesis
        self.sequence_number = sequence_number
        self._error: str | None = None
        self._created = None  # the payload's, read through _dynamodb when needed
        for slot in (_CHANGE_SLOT, _DYNAMODB_SLOT, _EVENT_NAME_SLOT):
            slot.__set__(self, _UNSET)
        self._new_image = self._old_image = self._keys = self._changed = _UNSET

    def _load_payload(self) -> None:
        """Decode ``kinesis.data`` into the payload slots, or raise KinesisPayloadError."""
        problem = self._error
        if problem is None:
            # json is imported here, not at module import: the Lambda runtime
            # has it loaded already, and DynamoDB Streams handlers never need it.
            import json

            change: Any = None
            try:
                data: Any = self._kinesis.get("data")
                payload = a2b_base64(data, strict_mode=True)
            except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
                problem = f"data is not base64 ({exc})"
            else:
                try:
                    change = json.loads(payload)
                except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
                    problem = f"data is not JSON ({exc})"
            if problem is None:
                if not isinstance(change, dict):
                    problem = f"data is JSON but not an object: {change!r:.80}"
                elif change.get("eventSource") != "aws:dynamodb":
                    source = change.get("eventSource")
                    problem = f"its eventSource is {source!r}, not 'aws:dynamodb'"
                elif not isinstance(change.get("dynamodb"), dict):
                    problem = "it has no 'dynamodb' object"
                else:
                    _CHANGE_SLOT.__set__(self, change)
                    _DYNAMODB_SLOT.__set__(self, change["dynamodb"])
                    _EVENT_NAME_SLOT.__set__(self, change.get("eventName"))
                    return
            self._error = problem  # decode once, even when it fails
        raise KinesisPayloadError(self.sequence_number, self.raw.get("eventSourceARN"), problem)

    def _payload_slot(self, slot: Any) -> Any:
        value = slot.__get__(self)
        if value is _UNSET:
            self._load_payload()
            value = slot.__get__(self)
        return value

    @property
    def _change(self) -> dict[str, Any]:  # type: ignore[override]
        return self._payload_slot(_CHANGE_SLOT)

    @property
    def _dynamodb(self) -> dict[str, Any]:
        return self._payload_slot(_DYNAMODB_SLOT)

    @property
    def event_name(self) -> str | None:  # type: ignore[override]
        """``"INSERT"``, ``"MODIFY"`` or ``"REMOVE"``; decodes the payload on first read.

        :raises KinesisPayloadError: the payload is not a DynamoDB change.
        """
        return self._payload_slot(_EVENT_NAME_SLOT)

    @property
    def approximate_creation_time(self) -> datetime | None:
        """When the change happened, as a timezone-aware UTC datetime.

        Kinesis Data Streams for DynamoDB sends ``ApproximateCreationDateTime``
        as epoch milliseconds, or microseconds when the payload's
        ``ApproximateCreationDateTimePrecision`` is ``MICROSECOND``.
        """
        dynamodb = self._dynamodb
        value = dynamodb.get("ApproximateCreationDateTime")
        if value is None:
            return None
        from datetime import UTC, datetime, timedelta

        # Integer arithmetic, not value / 1e6: a float has too few digits for
        # today's epoch in microseconds, so fromtimestamp could be 1 us off.
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return epoch + timedelta(microseconds=value * (1_000_000 // _units_per_second(dynamodb)))

    def _created_seconds(self) -> float | None:
        try:
            dynamodb = self._dynamodb
        except KinesisPayloadError:  # logging must never fail
            return None
        value = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return value / _units_per_second(dynamodb)

    def _log_fields(self) -> dict[str, Any]:
        try:
            return super()._log_fields()
        except KinesisPayloadError:
            # The payload is what failed: name the Kinesis record instead.
            return {
                "event_id": self.raw.get("eventID"),
                "event_name": None,
                "sequence_number": self.sequence_number,
                "keys": None,
            }
