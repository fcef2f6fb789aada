"""Every Python example in docs/operate.md runs, in order, sharing one namespace, against
an emulator named by AWS_ENDPOINT_URL (as the page says the commands do)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PAGE = Path(__file__).parent.parent / "docs" / "operate.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


@pytest.fixture(scope="module")
def namespace() -> Iterator[dict[str, Any]]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    patch = pytest.MonkeyPatch()
    patch.setenv("AWS_ENDPOINT_URL", f"http://localhost:{port}")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        patch.setenv(name, "testing")
    modules = set(sys.modules)
    try:
        yield {"__name__": "docs_example"}
    finally:
        patch.undo()
        server.stop()
        for name in set(sys.modules) - modules:
            if name == "orders":
                del sys.modules[name]


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) == 5


def test_examples_run_in_order(namespace: dict[str, Any]) -> None:
    for index, code in enumerate(BLOCKS):
        try:
            exec(compile(code, f"{PAGE}#block{index}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(
                f"docs/operate.md python block {index} failed: {error!r}"
            ) from error
