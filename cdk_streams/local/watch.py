"""Reload a function's code when files under its ``handler_dir`` change, as
``cdk watch`` does: poll the files' modification times.

Polling, not inotify: it works the same on every platform and in containers,
and a handler directory is small. The caller decides when to poll (``up``
polls once a second), so a test polls at once after touching a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

#: Directories never watched: caches and environments, not code.
_SKIP_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".venv", "node_modules"})

#: A snapshot: file path -> (modification time in ns, size).
Snapshot = dict[str, tuple[int, int]]


def snapshot(directory: Path) -> Snapshot:
    """The modification time and size of every file under ``directory``."""
    files: Snapshot = {}
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        for name in names:
            if name.endswith(".pyc"):
                continue
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except OSError:  # removed between listing and stat
                continue
            files[path] = (stat.st_mtime_ns, stat.st_size)
    return files


class CodeWatcher:
    """Calls ``reload(function_name)`` for each function whose source changed.

    :param sources: function name -> the directory its code is built from.
    :param reload: reloads one function's code.
    :param on_error: told when a reload fails (the watcher goes on).
        @default - raise.
    """

    def __init__(
        self,
        sources: Mapping[str, Path],
        reload: Callable[[str], object],
        *,
        on_error: Callable[[str, Exception], None] | None = None,
    ) -> None:
        self._functions: dict[Path, list[str]] = {}
        for name, directory in sources.items():
            self._functions.setdefault(Path(directory), []).append(name)
        self._reload = reload
        self._on_error = on_error
        self._seen = {directory: snapshot(directory) for directory in self._functions}

    @property
    def directories(self) -> list[Path]:
        """The directories watched."""
        return sorted(self._functions)

    def poll(self) -> list[str]:
        """Reload the functions whose directory changed since the last poll; their names."""
        reloaded = []
        for directory, names in self._functions.items():
            now = snapshot(directory)
            if now == self._seen[directory]:
                continue
            self._seen[directory] = now
            for name in names:
                try:
                    self._reload(name)
                except Exception as error:
                    if self._on_error is None:
                        raise
                    self._on_error(name, error)
                    continue
                reloaded.append(name)
        return reloaded
