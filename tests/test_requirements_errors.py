"""How a failed pip run for Lambda's platform is reported (cdk_streams.requirements),
with pip faked: the construct wraps these messages (tests/test_handler_code.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from cdk_streams.colour_codes import strip_colour
from cdk_streams.requirements import RequirementsError, install_requirements, pip_failure_reason


def _failing(stderr: str) -> Any:
    def run(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", stderr)

    return run


def _install(tmp_path: Path, stderr: str) -> RequirementsError:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("humanize==4.9.0\n")
    with pytest.raises(RequirementsError) as caught:
        install_requirements(
            requirements,
            architecture="arm64",
            python_version="3.13",
            cache=tmp_path / "cache",
            run=_failing(stderr),
        )
    return caught.value


def test_a_requirement_without_a_wheel_is_named_without_pips_colour_codes(tmp_path: Path) -> None:
    # pip colours its error lines under FORCE_COLOR, even into a pipe.
    error = _install(
        tmp_path,
        "\x1b[31mERROR: Could not find a version that satisfies the requirement "
        "humanize==4.9.0 (from versions: none)\x1b[0m\n"
        "\x1b[31mERROR: No matching distribution found for humanize==4.9.0\x1b[0m\n",
    )
    assert (
        str(error) == "humanize==4.9.0: pip found no wheel for manylinux2014_aarch64 (Python 3.13)"
    )
    assert error.package == "humanize==4.9.0"
    assert error.platform == "manylinux2014_aarch64 (Python 3.13)"


def test_another_pip_failure_gives_pips_last_error_line(tmp_path: Path) -> None:
    error = _install(
        tmp_path,
        "ERROR: Invalid requirement: 'this is not a requirement !!'\n"
        "    Hint: it looks like a path.\n",
    )
    assert str(error) == (
        "pip failed for manylinux2014_aarch64 (Python 3.13): "
        "Invalid requirement: 'this is not a requirement !!'"
    )
    assert error.package is None


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        ("WARNING: slow\nERROR: first\n  detail\nERROR: second\n", "second"),
        ("\x1b[33msomething odd happened\x1b[0m\n\n", "something odd happened"),
        ("", "pip exited with status 2"),
        (None, "pip exited with status 2"),
    ],
)
def test_pip_failure_reason_picks_one_line(stderr: str | None, reason: str) -> None:
    assert pip_failure_reason(stderr, 2) == reason


def test_strip_colour_removes_colour_and_style_codes_only() -> None:
    assert strip_colour("\x1b[1;31mred\x1b[0m [not a code] \x1b[2K") == "red [not a code] "


def test_the_cache_root_is_absolute_even_when_set_relative(tmp_path: Path) -> None:
    from cdk_streams.requirements import cache_root

    assert cache_root({"CDK_STREAMS_CACHE_DIR": "rel"}) == Path.cwd() / "rel"
    assert cache_root({"XDG_CACHE_HOME": "xdg"}) == Path.cwd() / "xdg" / "cdk-streams"


def test_a_rename_that_fails_for_another_reason_than_a_lost_race_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdk_streams.requirements import pip_install_into

    def succeed(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 0, "", "")

    def refuse(self: Path, target: Path) -> None:
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(Path, "rename", refuse)
    target = tmp_path / "cache" / "key"
    with pytest.raises(PermissionError):
        pip_install_into(target, ["--requirement", "r.txt"], run=succeed)
    # Nothing left that a later run could take for a finished install.
    assert list((tmp_path / "cache").iterdir()) == []
