"""A handler's ``requirements.txt``, installed by pip for the Python that runs
the local cloud's handlers (this interpreter), and cached.

The function's asset holds wheels for Lambda's platform (arm64 by default, and
the runtime's Python version); a compiled one (``orjson``, ``pydantic-core``)
does not load on this machine. So the local cloud installs the same
requirements for the host, into a cache directory keyed by the file and this
interpreter's version, ABI and platform (as :mod:`cdk_streams.requirements`
keys the Lambda installs): a second deploy or reload runs no pip.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

from ..requirements import (
    Runner,
    cache_root,
    pip_failure_reason,
    pip_install_into,
    requirements_key,
)
from .deployment import LocalCloudError

__all__ = ["HostRequirementsError", "host_install_dir", "host_python", "install_for_host"]


class HostRequirementsError(LocalCloudError):
    """pip could not install a handler's ``requirements.txt`` for this machine's Python."""


def host_python() -> str:
    """This interpreter as the local worker runs it, e.g. ``Python 3.11 (linux-x86_64)``."""
    version = sys.version_info
    return f"Python {version.major}.{version.minor} ({sysconfig.get_platform()})"


def host_install_dir(requirements: Path, *, cache: Path | None = None) -> Path:
    """Where :func:`install_for_host` keeps the install of ``requirements`` (which
    may not exist yet).

    :param cache: the cache root. @default - :func:`cdk_streams.requirements.cache_root`
        (``$CDK_STREAMS_CACHE_DIR``, else ``~/.cache/cdk-streams``).
    """
    key = requirements_key(
        requirements.read_bytes(),
        # What decides which wheels fit: the platform and the interpreter's ABI
        # (a free-threaded build has its own), not just the version.
        architecture=f"host {sysconfig.get_platform()} {sysconfig.get_config_var('SOABI')}",
        python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
    )
    return (cache or cache_root()) / "host-requirements" / key


def install_for_host(
    requirements: Path,
    *,
    cache: Path | None = None,
    run: Runner = subprocess.run,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Install ``requirements`` for this interpreter (cached); the directory holding them.

    :param cache: the cache root. @default - as :func:`host_install_dir`.
    :param run: runs pip, with :func:`subprocess.run`'s signature. @default subprocess.run.
    :param progress: told when pip runs (a cache miss). @default - nothing.
    :raises HostRequirementsError: pip failed; the message names the file and pip's reason.
    """
    target = host_install_dir(requirements, cache=cache)
    if target.is_dir():
        return target
    if progress is not None:
        progress(f"installing {requirements} for the local {host_python()} ...")
    # From the file's directory, as the bundler runs pip: a relative path in the
    # file (./wheels/x.whl) means the same to both.
    result = pip_install_into(
        target, ["--requirement", str(requirements)], run=run, cwd=requirements.parent
    )
    if result is not None:
        reason = pip_failure_reason(result.stderr, result.returncode)
        raise HostRequirementsError(
            f"{requirements}: pip cannot install it for {host_python()}, the Python the local "
            f"cloud runs handlers on: {reason}; fix the requirement, or point pip at it with "
            "PIP_INDEX_URL or PIP_FIND_LINKS"
        )
    return target
