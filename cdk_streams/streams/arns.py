"""ARNs: the placeholder ones written where no AWS account is, and the name an ARN ends in.

A plan, a simulation and a local invoke need an ARN for a function, a stream or
a queue that exists nowhere; :func:`placeholder_arn` gives them all the same
made-up account and region, so one of them is recognisable as such wherever it
is printed.
"""

from __future__ import annotations

#: The account and region of every placeholder ARN (AWS's documentation account).
PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_REGION = "us-east-1"


def placeholder_arn(service: str, resource: str) -> str:
    """``arn:aws:<service>:<region>:<account>:<resource>`` in the placeholder account.

    An S3 ARN names no region and no account (a bucket's name is global), so an
    ``s3`` one is ``arn:aws:s3:::<resource>``, as S3 writes it.
    """
    if service == "s3":
        return f"arn:aws:s3:::{resource}"
    return f"arn:aws:{service}:{PLACEHOLDER_REGION}:{PLACEHOLDER_ACCOUNT}:{resource}"


def resource_name(arn: str) -> str:
    """The name an ARN gives its resource.

    A function's (``function:NAME[:QUALIFIER]``), a table's, also in its stream's
    ARN (``table/NAME/stream/LABEL``), a Kinesis stream's (``stream/NAME``), and
    a queue's or topic's (the whole resource part), and a bucket's (also in an
    object's ARN, ``BUCKET/KEY``).
    """
    parts = arn.split(":", 5)
    resource = parts[-1]
    if parts[2:3] == ["s3"]:
        return resource.split("/")[0]
    _, slash, path = resource.partition("/")
    if slash:
        return path.split("/")[0]
    _, colon, qualified = resource.partition(":")
    if colon:
        return qualified.split(":")[0]
    return resource
