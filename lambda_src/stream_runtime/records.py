"""ChangeRecord: one DynamoDB stream record as a route receives it."""

from __future__ import annotations

from .attributes import Image, decode_image

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from datetime import datetime
    from typing import Any

# A slot not computed yet; None is a real value (an absent image).
_UNSET = object()

_TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


class UnidentifiableRecordError(ValueError):
    """A record has no usable ``dynamodb.SequenceNumber``.

    Partial-batch responses identify records by sequence number, and Lambda
    fails the whole batch when an identifier is null, empty or unknown. So the
    router raises this from ``handler`` before running any route, and the
    whole batch fails (and is retried, bisected or sent to the on-failure
    destination according to the event-source mapping).
    """


class ChangeRecord:
    """One stream record: what changed, with images decoded only when read.

    Cheap to build: it reads two fields, and decodes an image (lazily, one
    attribute at a time, see :class:`~stream_runtime.attributes.Image`) only
    when a route touches it.

    :ivar raw: the record exactly as Lambda delivered it.
    :ivar event_name: ``"INSERT"``, ``"MODIFY"`` or ``"REMOVE"``.
    :ivar sequence_number: the raw ``SequenceNumber`` string, e.g.
        ``"4421584500000000017450439091"`` (compare as ``int`` if you must order them).
    """

    __slots__ = (
        "_changed",
        "_dynamodb",
        "_keys",
        "_new_image",
        "_old_image",
        "event_name",
        "raw",
        "sequence_number",
    )

    def __init__(self, raw: dict[str, Any]) -> None:
        """:raises UnidentifiableRecordError: no ``dynamodb.SequenceNumber`` string."""
        try:
            dynamodb = raw["dynamodb"]
            sequence_number = dynamodb["SequenceNumber"]
        except (KeyError, TypeError):
            sequence_number = None
        if not isinstance(sequence_number, str) or not sequence_number:
            raise UnidentifiableRecordError(
                "stream record has no dynamodb.SequenceNumber, so it cannot be reported "
                f"as a partial-batch failure; failing the whole batch (eventID={_event_id(raw)!r})"
            )
        self.raw = raw
        self._dynamodb = dynamodb
        self.sequence_number: str = sequence_number
        self.event_name: str | None = raw.get("eventName")
        self._new_image = self._old_image = self._keys = self._changed = _UNSET

    @property
    def event_id(self) -> str | None:
        """The record's ``eventID``, unique per record."""
        return self.raw.get("eventID")

    @property
    def event_source_arn(self) -> str | None:
        """The stream's ARN (``eventSourceARN``)."""
        return self.raw.get("eventSourceARN")

    @property
    def view_type(self) -> str | None:
        """``KEYS_ONLY``, ``NEW_IMAGE``, ``OLD_IMAGE`` or ``NEW_AND_OLD_IMAGES``."""
        return self._dynamodb.get("StreamViewType")

    @property
    def size_bytes(self) -> int | None:
        """``SizeBytes``: the size of the stream record."""
        return self._dynamodb.get("SizeBytes")

    @property
    def approximate_creation_time(self) -> datetime | None:
        """When the change happened, as a timezone-aware UTC datetime.

        Lambda hands ``ApproximateCreationDateTime`` over as epoch seconds.
        """
        seconds = self._dynamodb.get("ApproximateCreationDateTime")
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

    @property
    def is_ttl_expiry(self) -> bool:
        """True when DynamoDB's TTL process deleted the item (not a user or app)."""
        return self.raw.get("userIdentity") == _TTL_IDENTITY

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

    def __repr__(self) -> str:
        return (
            f"ChangeRecord(event_name={self.event_name!r}, event_id={self.event_id!r}, "
            f"sequence_number={self.sequence_number!r}, "
            f"keys={self._dynamodb.get('Keys')!r})"
        )


def _event_id(raw: Any) -> Any:
    return raw.get("eventID") if isinstance(raw, dict) else None
