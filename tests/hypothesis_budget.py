"""How many examples each hypothesis test runs.

Each test states its count for a thorough run (written against hypothesis's
default of 100 examples); the loaded profile scales it. tests/conftest.py
registers two profiles:

- ``quick`` (what ``make test`` runs): a third of each count, at least 5;
- ``thorough``: the full counts. Run it with
  ``CDK_STREAMS_HYPOTHESIS=thorough python -m pytest tests/test_props_property.py``
  (or ``--hypothesis-profile=thorough``).
"""

from __future__ import annotations

from hypothesis import settings

#: hypothesis's own default, the base the counts are written against.
_BASE = 100
_MINIMUM = 5


def examples(thorough: int) -> int:
    """``thorough`` scaled by the loaded profile's share of 100 examples, at least 5."""
    return max(_MINIMUM, thorough * settings.default.max_examples // _BASE)
