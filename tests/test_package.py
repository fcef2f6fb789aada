"""The package's import surface."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cdk_streams


def test_every_export_resolves():
    for name in cdk_streams.__all__:
        assert getattr(cdk_streams, name) is not None
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
