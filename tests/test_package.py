"""The package's import surface."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cdk_streams


def test_every_export_resolves_to_its_kind_from_its_module():
    from dataclasses import is_dataclass

    from constructs import Construct

    exports = {name: getattr(cdk_streams, name) for name in cdk_streams.__all__}
    constructs = {
        "StreamAlarms",
        "StreamDashboard",
        "StreamPipeline",
        "StreamProcessor",
        "StreamTable",
    }
    for name in constructs:
        assert isinstance(exports[name], type) and issubclass(exports[name], Construct), name
    for name in ("IStreamAlarms", "IStreamProcessor"):  # typing.Protocol interfaces
        assert getattr(exports[name], "_is_protocol", False) is True, name
    assert is_dataclass(exports["AlarmThresholds"])
    assert issubclass(exports["StreamsValidationError"], ValueError)
    assert callable(exports["StreamHandlerCode"].sample)
    assert callable(exports["pipeline_widgets"])
    assert exports["ALARM_NAMES"] == (
        "IteratorAge",
        "Errors",
        "RecordFailures",
        "Throttles",
        "DroppedEvents",
        "DestinationDeliveryFailures",
        "DeadLetterQueueDepth",
        "DeadLetterQueueAge",
        "OnFailureArchived",
    )
    # Each name comes from the module _EXPORTS names (the tuple has no __module__).
    for name, value in exports.items():
        if name != "ALARM_NAMES":
            assert value.__module__ == f"cdk_streams.{cdk_streams._EXPORTS[name]}", name
    assert "StreamProcessor" in dir(cdk_streams)


def test_unknown_attribute_is_a_clear_attribute_error():
    with pytest.raises(AttributeError, match="module 'cdk_streams' has no attribute 'Nope'"):
        cdk_streams.Nope  # noqa: B018


def test_testing_helpers_do_not_start_jsii():
    # Building test events must not pay for aws-cdk-lib and its Node process.
    code = (
        "import sys, cdk_streams.testing\n"
        "print(sorted(m for m in sys.modules if m.startswith(('jsii', 'aws_cdk'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_all_lists_exactly_the_lazy_exports():
    assert sorted(cdk_streams.__all__) == sorted(cdk_streams._EXPORTS)
