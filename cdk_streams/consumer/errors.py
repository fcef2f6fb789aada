"""The consumer's base error."""


class ConsumerError(RuntimeError):
    """The consumer cannot run as configured (no stream, bad settings, bad callback result)."""
