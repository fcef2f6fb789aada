"""A Lambda function created through the Lambda API in a local cloud, its code a zip
of one module: for tests of what the local cloud does with functions it did not deploy."""

from __future__ import annotations

import io
import zipfile
from typing import Any


def zipped(module: str, source: str) -> bytes:
    """A zip holding ``<module>.py`` with ``source``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}.py", source)
    return buffer.getvalue()


def create_zip_function(
    cloud: Any, name: str, source: str, *, module: str = "app", **props: Any
) -> str:
    """Create function ``name`` running ``<module>.handler`` from ``source``; its ARN.

    :param props: more CreateFunction parameters (``Runtime`` defaults to python3.12).
    """
    iam = cloud.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")
    created = cloud.client("lambda").create_function(
        FunctionName=name,
        Runtime=props.pop("Runtime", "python3.12"),
        Role=role["Role"]["Arn"],
        Handler=f"{module}.handler",
        Code={"ZipFile": zipped(module, source)},
        **props,
    )
    return str(created["FunctionArn"])
