"""Sessions from cdk_streams.boto_sessions share the parsed service models, nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cdk_streams.boto_sessions import new_session


def loader_of(session: Any) -> Any:
    return session._session.get_component("data_loader")


def test_sessions_share_one_loader_and_its_parsed_models() -> None:
    first = new_session(region_name="us-east-1")
    second = new_session(region_name="eu-west-1")
    assert loader_of(first) is loader_of(second)
    one = first.client("dynamodb", aws_access_key_id="a", aws_secret_access_key="b")
    two = second.client("dynamodb", aws_access_key_id="a", aws_secret_access_key="b")
    # The model is parsed once: both clients read the same parsed document.
    assert one.meta.service_model._service_description is (
        two.meta.service_model._service_description
    )
    # Each session keeps its own settings.
    assert (one.meta.region_name, two.meta.region_name) == ("us-east-1", "eu-west-1")


def test_credentials_stay_with_their_session() -> None:
    given = new_session(
        region_name="us-east-1", aws_access_key_id="AKIDX", aws_secret_access_key="s"
    )
    other = new_session(
        region_name="us-east-1", aws_access_key_id="AKIDY", aws_secret_access_key="t"
    )
    assert given.get_credentials().access_key == "AKIDX"
    assert other.get_credentials().access_key == "AKIDY"


def test_the_search_path_does_not_grow_with_each_session() -> None:
    paths = list(loader_of(new_session()).search_paths)
    for _ in range(3):
        new_session()
    assert loader_of(new_session()).search_paths == paths
    assert len(paths) == len(set(paths))


def test_another_data_path_gets_its_own_loader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    default = loader_of(new_session())
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    custom = loader_of(new_session())
    assert custom is not default
    assert str(tmp_path) in custom.search_paths


def test_a_command_session_reads_aws_region_and_gives_an_emulator_dummy_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cdk_streams.boto_sessions import command_session

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    assert command_session(endpoint_url=None, region=None).region_name is None
    # AWS_REGION, which boto3 alone does not read, then the argument over it.
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert command_session(endpoint_url=None, region=None).region_name == "eu-west-1"
    assert command_session(endpoint_url=None, region="us-east-1").region_name == "us-east-1"
    # No credentials anywhere: dummy ones only for an endpoint of its own.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert command_session(endpoint_url=None, region=None).get_credentials() is None
    emulator = command_session(endpoint_url="http://localhost:4566", region=None)
    assert emulator.get_credentials().access_key == "testing"
