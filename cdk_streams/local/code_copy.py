"""A function's code directory for the local cloud, assembled as the construct's
bundler assembles its asset, but for this machine's Python.

The one way local code is put together: for ``local up`` (each function's
``handler_dir``, or its deployed asset when the template names no
``handler_dir``), ``local up --watch`` (a reload from the ``handler_dir``) and
``local invoke`` (its ``--handler-dir``). The code directory holds:

1. the directory, without caches and virtualenvs, and without the copies of
   its requirements that the bundler installed for Lambda's platform (below);
2. the bundled ``stream_runtime`` package, unless the directory holds one;
3. the packages of its ``requirements.txt``, installed by pip for the
   interpreter the local worker runs (this one), under the files of step 1.

Why step 3: the asset's packages are wheels for Lambda's platform, and a
compiled one does not load on the host (see
:mod:`cdk_streams.local.host_requirements`, which installs and caches them).
They are linked into the code directory, not copied: a reload costs the same
with numpy as without.

The Lambda copies left out in step 1 are those of the distributions the host
install also provides, found by their ``*.dist-info/RECORD``: a package that
was vendored into ``handler_dir`` by hand but is not in ``requirements.txt``
stays.

Standard library only (no jsii).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from ..handler_code import IGNORED_DIRS, REQUIREMENTS_FILE, RUNTIME_PACKAGE, bundled_code_dir
from ..requirements import Runner
from . import host_requirements

__all__ = ["copy_handler_code"]

# What the bundler leaves out of an asset, left out here too.
_IGNORED = IGNORED_DIRS
_IGNORE = shutil.ignore_patterns(*_IGNORED, "*.pyc")


def copy_handler_code(
    source: Path,
    target: Path,
    *,
    cache: Path | None = None,
    run: Runner = subprocess.run,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Assemble the local code of ``source`` (a ``handler_dir`` or a deployed
    asset) in ``target``, which must not exist; return ``target``.

    See the module docstring for what goes in.

    :param cache: the cache root of the host installs. @default - as
        :func:`~cdk_streams.local.host_requirements.host_install_dir`.
    :param run: runs pip. @default subprocess.run.
    :param progress: told when pip runs. @default - nothing.
    :raises ~cdk_streams.local.host_requirements.HostRequirementsError:
        ``source/requirements.txt`` does not install.
    """
    requirements = source / REQUIREMENTS_FILE
    packages = (
        # Looked up on the module at call time, so a test can stand in for pip.
        host_requirements.install_for_host(requirements, cache=cache, run=run, progress=progress)
        if requirements.is_file()
        else None
    )
    ignore = _IGNORE
    if packages is not None:
        lambda_copies = _recorded_files(source, _distributions(packages))
        if lambda_copies:
            ignore = _ignoring(source, lambda_copies)
    shutil.copytree(source, target, ignore=ignore)
    if not (target / RUNTIME_PACKAGE).exists():
        shutil.copytree(
            bundled_code_dir() / RUNTIME_PACKAGE, target / RUNTIME_PACKAGE, ignore=_IGNORE
        )
    if packages is not None:
        for entry in sorted(packages.iterdir()):
            _add_under(entry, target / entry.name)
    return target


def _add_under(entry: Path, destination: Path) -> None:
    """Put a host package entry at ``destination`` unless the code has it: the
    code's own files win, as the bundler copies the handler over the packages."""
    if not destination.exists() and not destination.is_symlink():
        try:
            destination.symlink_to(entry, target_is_directory=entry.is_dir())
            return
        except OSError:  # no symlinks here (Windows without the privilege)
            pass
        if entry.is_dir():
            shutil.copytree(entry, destination, ignore=_IGNORE)
        else:
            shutil.copy2(entry, destination)
    elif entry.is_dir() and destination.is_dir():
        # A directory both provide (a namespace package): merge, the code's files first.
        for child in sorted(entry.iterdir()):
            if child.name not in _IGNORED:
                _add_under(child, destination / child.name)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution_dirs(root: Path) -> Iterable[tuple[str, Path]]:
    """(normalized project name, ``*.dist-info`` directory) at the top of ``root``."""
    for entry in root.iterdir():
        if entry.name.endswith(".dist-info") and entry.is_dir():
            # name-version.dist-info; a version never holds "-".
            yield _normalized(entry.name.removesuffix(".dist-info").rpartition("-")[0]), entry


def _distributions(packages: Path) -> set[str]:
    return {name for name, _ in _distribution_dirs(packages)}


def _recorded_files(source: Path, names: set[str]) -> set[str]:
    """The files (relative POSIX paths) of ``source``'s installed distributions named in
    ``names``: the Lambda-platform copies of what the host install provides."""
    files: set[str] = set()
    for name, dist_info in _distribution_dirs(source):
        if name not in names:
            continue
        record = dist_info / "RECORD"
        if record.is_file():
            with record.open(newline="", encoding="utf-8") as rows:
                for row in csv.reader(rows):
                    recorded = PurePosixPath(row[0]) if row else None
                    # Scripts are recorded as ../../bin/...: outside the tree.
                    if recorded and not recorded.is_absolute() and ".." not in recorded.parts:
                        files.add(recorded.as_posix())
        files.update(path.relative_to(source).as_posix() for path in dist_info.rglob("*"))
    return files


def _ignoring(source: Path, skipped: set[str]) -> Callable[[str, list[str]], set[str]]:
    """A ``copytree`` ignore that leaves out ``skipped`` files, and the directories
    holding nothing else, so the host's package takes their place whole."""
    needed: set[str] = set()
    for directory, dirs, names in os.walk(source):
        dirs[:] = [d for d in dirs if d not in _IGNORED]
        relative = Path(directory).relative_to(source)
        for name in names:
            path = (relative / name).as_posix()
            if path not in skipped and not name.endswith(".pyc"):
                needed.update(parent.as_posix() for parent in PurePosixPath(path).parents)
    holding = {parent.as_posix() for path in skipped for parent in PurePosixPath(path).parents}

    def ignore(directory: str, names: list[str]) -> set[str]:
        relative = Path(directory).relative_to(source)
        ignored = set(_IGNORE(directory, names))
        for name in names:
            path = (relative / name).as_posix()
            if path in skipped or (path in holding and path not in needed):
                ignored.add(name)
        return ignored

    return ignore
