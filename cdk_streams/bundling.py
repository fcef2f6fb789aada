"""The Lambda code of a stream consumer: :class:`StreamHandlerCode`.

Either the bundled Orders sample, or your own directory with the bundled
``stream_runtime`` package and your ``requirements.txt`` added to the asset.
Both build without Docker: the directory is copied by a local bundler written
in Python, and the requirements are installed by pip for Lambda's platform
(see :mod:`cdk_streams.requirements`).

Use it with :class:`StreamProcessor` (``code=StreamHandlerCode.sample()``) or
with a function you build yourself::

    code = StreamHandlerCode.from_directory("src/users_cdc", handler="users_cdc.handler")
    fn = lambda_.Function(self, "Fn", runtime=code.runtime, architecture=code.architecture,
                          handler=code.handler, code=code.to_code())
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from .handler_code import (
    IGNORED_DIRS,
    REQUIREMENTS_FILE,
    RUNTIME_PACKAGE,
    SAMPLE_HANDLER,
    bundled_code_dir,
)
from .handler_entry import HandlerProblem, check_handler
from .handler_spec import parse_handler
from .requirements import RequirementsError, install_requirements, requirements_key
from .streams.settings import PROCESSOR_ARCHITECTURE
from .validation import StreamsValidationError

__all__ = [
    "DEFAULT_ARCHITECTURE",
    "SAMPLE_HANDLER",
    "StreamHandlerCode",
    "bundled_code_dir",
    "newest_python_runtime",
]

#: arm64 (Graviton): the bundled runtime is pure Python, and Lambda charges
#: about 20 % less per GB-second on arm64 than on x86_64 for the same memory.
#: Named once, without CDK, in ``streams.settings`` (the planner prices it).
DEFAULT_ARCHITECTURE = {
    "arm64": lambda_.Architecture.ARM_64,
    "x86_64": lambda_.Architecture.X86_64,
}[PROCESSOR_ARCHITECTURE]
_IGNORED_DIRS = frozenset(IGNORED_DIRS)
_IGNORED_SUFFIXES = (".pyc",)
# The same as the asset's exclude globs; __pycache__ turns up at any depth.
_EXCLUDE = ["**/__pycache__", "**/*.pyc", *(d for d in IGNORED_DIRS if d != "__pycache__")]


def newest_python_runtime() -> lambda_.Runtime:
    """The newest Python runtime this aws-cdk-lib knows.

    ``Runtime.determine_latest_python_runtime`` lags a release behind (it picks
    the newest available in every region), and cdk-nag's AwsSolutions-L1 wants
    the newest one.
    """
    versions = [
        (int(match.group(1)), name)
        for name in dir(lambda_.Runtime)
        if (match := re.fullmatch(r"PYTHON_3_(\d+)", name))
    ]
    return getattr(lambda_.Runtime, max(versions)[1])


def python_version(runtime: lambda_.Runtime) -> str:
    """``"3.14"`` for ``python3.14``."""
    return runtime.name.removeprefix("python")


class StreamHandlerCode:
    """A handler and the Lambda code that holds it, with ``stream_runtime`` bundled in.

    Build one with :meth:`sample` or :meth:`from_directory`. Attributes:
    ``handler`` (``"module.function"``), ``directory`` (None for the sample),
    ``requirements`` (the ``requirements.txt`` found, or None) and
    ``pip_options``.
    """

    def __init__(
        self,
        *,
        handler: str,
        directory: Path | None,
        pip_options: Sequence[str] = (),
    ) -> None:
        self.handler = handler
        self.directory = directory
        self.pip_options = tuple(pip_options)
        requirements = None if directory is None else directory / REQUIREMENTS_FILE
        self.requirements = requirements if requirements and requirements.is_file() else None
        #: The defaults :meth:`to_code` uses, for building your own function.
        self.runtime = newest_python_runtime()
        self.architecture = DEFAULT_ARCHITECTURE

    @classmethod
    def sample(cls) -> StreamHandlerCode:
        """The bundled Orders sample (``process_order_changes.handler``).

        It logs each order change of a table keyed by ``orderId``; use it to
        try the constructs, not on your own data.
        """
        return cls(handler=SAMPLE_HANDLER, directory=None)

    @classmethod
    def from_directory(
        cls,
        directory: str | os.PathLike[str],
        *,
        handler: str,
        pip_options: Sequence[str] | None = None,
    ) -> StreamHandlerCode:
        """Your code in ``directory``, with ``stream_runtime`` added beside it.

        :param directory: the handler's directory, the root of the asset.
        :param handler: ``"module.function"``; the module must define or assign
            the function at module level (checked by parsing, not importing).
        :param pip_options: more pip arguments for ``requirements.txt``, e.g.
            ``["--no-index", "--find-links", "wheels/"]``. @default - none
            (pip also reads its ``PIP_*`` environment variables).
        :raises StreamsValidationError: the directory or the handler is wrong.
        """
        return cls._checked("StreamHandlerCode.from_directory", directory, handler, pip_options)

    @classmethod
    def _checked(
        cls, where: str, directory: object, handler: object, pip_options: object
    ) -> StreamHandlerCode:
        """:meth:`from_directory` with errors under the path ``where`` (a construct's)."""
        if not isinstance(directory, (str, os.PathLike)) or not Path(directory).is_dir():
            # A relative path is looked up from the current directory, which is not
            # the app's when pytest or cdk runs from a parent: show where it looked.
            looked = (
                f" (looked for {str(Path(directory).absolute())!r}: a relative handler_dir "
                "is found from the current directory; to find it from your stack's file, pass "
                f"Path(__file__).parent / {Path(directory).as_posix()!r})"
                if isinstance(directory, (str, os.PathLike)) and not Path(directory).is_absolute()
                else ""
            )
            raise StreamsValidationError(
                f"{where}: handler_dir must be an existing directory, got "
                f"{_shown(directory)}{looked}"
            )
        path = Path(directory).resolve()
        problem = check_handler(path, handler)
        if problem is not None:
            raise _error(where, problem)
        if pip_options is None:
            pip_options = ()
        if isinstance(pip_options, (str, bytes)) or not (
            isinstance(pip_options, Sequence) and all(isinstance(o, str) for o in pip_options)
        ):
            raise StreamsValidationError(
                f"{where}: pip_options must be a list of strings, got {pip_options!r}"
            )
        assert isinstance(handler, str)  # check_handler saw to it
        # Lambda's Handler setting takes only the module.function form.
        return cls(
            handler=parse_handler(handler).lambda_form, directory=path, pip_options=pip_options
        )

    @property
    def is_sample(self) -> bool:
        return self.directory is None

    def to_code(
        self,
        *,
        runtime: lambda_.Runtime | None = None,
        architecture: lambda_.Architecture | None = None,
    ) -> lambda_.Code:
        """The asset: give the runtime and architecture of the function that runs it.

        They pick the wheels for ``requirements.txt``. @default - ``self.runtime``
        (the newest Python runtime) and ``self.architecture`` (arm64).

        :raises StreamsValidationError: a requirement has no wheel for that platform.
        """
        return self._code("StreamHandlerCode.to_code", runtime, architecture)

    def _code(
        self,
        where: str,
        runtime: lambda_.Runtime | None,
        architecture: lambda_.Architecture | None,
    ) -> lambda_.Code:
        if self.directory is None:
            return lambda_.Code.from_asset(str(bundled_code_dir()), exclude=_EXCLUDE)
        runtime = runtime or self.runtime
        architecture = architecture or self.architecture
        packages: Path | None = None
        requirements_hash = b""
        if self.requirements is not None:
            arch, version = architecture.name, python_version(runtime)
            # What the asset holds depends on the requirements and the
            # platform, not on where pip found the wheels (pip options, PIP_*
            # environment): those stay out of the asset hash.
            requirements_hash = requirements_key(
                self.requirements.read_bytes(),
                architecture=arch,
                python_version=version,
                environ={},
            ).encode()
            try:
                packages = install_requirements(
                    self.requirements,
                    architecture=arch,
                    python_version=version,
                    pip_options=self.pip_options,
                )
            except RequirementsError as error:
                if error.package is None:
                    raise StreamsValidationError(
                        f"{where}: handler_dir's {REQUIREMENTS_FILE} must install with pip "
                        f"for {error.platform}, got {error}"
                    ) from None
                raise StreamsValidationError(
                    f"{where}: handler_dir's {REQUIREMENTS_FILE} must name packages with a "
                    f"wheel for {error.platform} (pip --only-binary=:all:), got {error}. Check "
                    "the name and version (pip says the same of a package that does not "
                    "exist), pin a version that ships such a wheel, pick the other "
                    "architecture, or vendor a pure-Python copy into handler_dir"
                ) from None
        return lambda_.Code.from_asset(
            str(self.directory),
            exclude=_EXCLUDE,
            # A hash of the inputs, not of the output: pip's output carries
            # install paths and metadata that differ between machines, and the
            # snapshot must not change unless the code or requirements do.
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=_inputs_hash(self.directory, requirements_hash),
            bundling=BundlingOptions(
                # Never pulled: local bundling always succeeds or raises.
                image=DockerImage.from_registry("cdk-streams-local-bundling-only"),
                local=_CopyWithRuntime(self.directory, packages),
            ),
        )


@jsii.implements(ILocalBundling)
class _CopyWithRuntime:
    """Local bundler: the installed requirements, the user's directory over
    them, then ``stream_runtime`` unless the user vendored a copy.

    A ``stream_runtime`` the user vendored in their own directory wins, so a
    team can pin a patched copy.
    """

    def __init__(self, handler_dir: Path, packages: Path | None) -> None:
        self._handler_dir = handler_dir
        self._packages = packages

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        out = Path(output_dir)
        ignore = shutil.ignore_patterns(*_IGNORED_DIRS, "*.pyc")
        if self._packages is not None:
            shutil.copytree(self._packages, out, dirs_exist_ok=True, ignore=ignore)
        shutil.copytree(self._handler_dir, out, dirs_exist_ok=True, ignore=ignore)
        target = out / RUNTIME_PACKAGE
        if not (self._handler_dir / RUNTIME_PACKAGE).exists():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(bundled_code_dir() / RUNTIME_PACKAGE, target, ignore=ignore)
        return True


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_DIRS)
        for name in sorted(filenames):
            if not name.endswith(_IGNORED_SUFFIXES):
                yield Path(dirpath) / name


def _inputs_hash(handler_dir: Path, requirements_hash: bytes) -> str:
    digest = hashlib.sha256()
    roots = [("handler", handler_dir)]
    if not (handler_dir / RUNTIME_PACKAGE).exists():
        roots.append(("runtime", bundled_code_dir() / RUNTIME_PACKAGE))
    for label, root in roots:
        for path in _files(root):
            digest.update(f"{label}:{path.relative_to(root).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(b"requirements:" + requirements_hash)
    return digest.hexdigest()


def _error(where: str, problem: HandlerProblem) -> StreamsValidationError:
    return StreamsValidationError(
        f"{where}: {problem.prop} must be {problem.allowed}, got {problem.got}"
    )


def _shown(value: object) -> str:
    return repr(str(value)) if isinstance(value, (str, os.PathLike)) else repr(value)
