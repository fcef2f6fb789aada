"""A handler directory's ``requirements.txt``, installed for Lambda's platform, without Docker.

pip installs into a target directory with the function's platform
(``manylinux2014_x86_64`` or ``manylinux2014_aarch64``, and the newer
``manylinux_2_28`` tags the Python 3.12+ runtimes' Amazon Linux 2023 also runs),
the runtime's Python version and ``--only-binary=:all:``: a wheel built for
this machine, or a source build, could not be trusted to load in Lambda.

The result is cached under the user cache directory, keyed by a hash of the
requirements file, the platform, the Python version, the pip options and the
``PIP_*`` environment, so a second synth does not run pip at all.

Standard library only: no jsii here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .colour_codes import strip_colour

#: Lambda's architecture name -> the wheel platform tags pip may pick from.
PLATFORMS = {
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
}
#: Overrides where installed requirements are cached.
CACHE_ENV = "CDK_STREAMS_CACHE_DIR"
_NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")
#: pip's own error lines start here, unindented; a build backend's are indented.
_PIP_ERROR = re.compile(r"^ERROR: (.+)$", re.MULTILINE)

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class RequirementsError(Exception):
    """pip could not install the requirements for the function's platform.

    ``package`` is the requirement pip found no wheel for (None when pip failed
    for another reason); ``platform`` names the platform and Python version.
    """

    def __init__(self, message: str, *, package: str | None, platform: str) -> None:
        super().__init__(message)
        self.package = package
        self.platform = platform


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where installs are cached.

    ``$CDK_STREAMS_CACHE_DIR``, else ``$XDG_CACHE_HOME/cdk-streams``, else
    ``~/.cache/cdk-streams``; always absolute, because the local cloud links
    installed packages from here into code directories elsewhere, and a
    relative link would point nowhere.
    """
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser().absolute()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base).expanduser() / "cdk-streams").absolute()


def requirements_key(
    requirements: bytes,
    *,
    architecture: str,
    python_version: str,
    pip_options: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> str:
    """The cache key: everything that changes what pip would install."""
    env = os.environ if environ is None else environ
    digest = hashlib.sha256()
    for part in (
        requirements,
        architecture.encode(),
        python_version.encode(),
        *(option.encode() for option in pip_options),
        *(f"{k}={v}".encode() for k, v in sorted(env.items()) if k.startswith("PIP_")),
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def install_requirements(
    requirements: Path,
    *,
    architecture: str,
    python_version: str,
    pip_options: Sequence[str] = (),
    cache: Path | None = None,
    run: Runner = subprocess.run,
) -> Path:
    """Install ``requirements`` for Lambda; return the directory holding the packages.

    :param architecture: ``x86_64`` or ``arm64`` (Lambda's names).
    :param python_version: the runtime's, e.g. ``"3.14"``.
    :param pip_options: more pip arguments, e.g. ``["--no-index", "--find-links", dir]``.
    :raises RequirementsError: no wheel for the platform, or pip failed.
    """
    content = requirements.read_bytes()
    key = requirements_key(
        content, architecture=architecture, python_version=python_version, pip_options=pip_options
    )
    target = (cache or cache_root()) / "requirements" / key
    if target.is_dir():
        return target
    platforms = PLATFORMS[architecture]
    result = pip_install_into(
        target,
        [
            # .pyc files embed timestamps; Lambda compiles on first import anyway.
            "--no-compile",
            *(arg for platform in platforms for arg in ("--platform", platform)),
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
            *pip_options,
            "--requirement",
            str(requirements),
        ],
        run=run,
    )
    if result is not None:
        platform = f"{platforms[0]} (Python {python_version})"
        stderr = strip_colour(result.stderr or "")
        missing = _NOT_FOUND.search(stderr)
        if missing:
            # pip says the same for a name or version that does not exist at all.
            raise RequirementsError(
                f"{missing.group(1)}: pip found no wheel for {platform}",
                package=missing.group(1),
                platform=platform,
            )
        raise RequirementsError(
            f"pip failed for {platform}: {pip_failure_reason(stderr, result.returncode)}",
            package=None,
            platform=platform,
        )
    return target


def pip_install_into(
    target: Path,
    arguments: Sequence[str],
    *,
    run: Runner = subprocess.run,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str] | None:
    """``pip install --target`` into a staging directory beside ``target``, renamed
    to ``target`` when pip succeeds; pip's result when it failed, else None.

    A failed or interrupted pip leaves nothing behind that a later run could
    take for a complete, cached install.

    :param arguments: pip's arguments after ``--target DIR``.
    :param run: runs pip, with :func:`subprocess.run`'s signature. @default subprocess.run.
    :param cwd: pip's working directory. @default - this process's.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name[:12]}-", dir=target.parent))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
        str(staging),
        *arguments,
    ]
    try:
        result = run(command, capture_output=True, text=True, check=False, cwd=cwd)
    except BaseException:  # Ctrl-C: no hidden staging directory left in the cache
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        return result
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
        # Another process finished the same install first; either copy will do.
    return None


def pip_failure_reason(stderr: str | None, returncode: int) -> str:
    """Why pip failed, in one line: its last ``ERROR:`` line (the one that names
    the requirement), else its last line, else its exit status."""
    text = strip_colour(stderr or "")
    errors = _PIP_ERROR.findall(text)
    if errors:
        return str(errors[-1]).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else f"pip exited with status {returncode}"
