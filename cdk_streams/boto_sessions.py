"""boto3 sessions that share one botocore model loader per process.

A boto3 ``Session`` parses a service's model files (JSON; DynamoDB's alone is
hundreds of KB) the first time it makes a client of that service, and keeps
them for that session only. Code that makes a session per use (each consumer
worker, each command run in one process, each local cloud's clients) parses
the same files again every time: about 0.1 s of CPU per client, which was a
third of the consumer tests' CPU time. Sessions from :func:`new_session`
share one loader, which parses each file once and hands out the parsed model
read-only, as it does to every client of one session.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3.session
import botocore.loaders
import botocore.session

_lock = threading.Lock()
# One loader per data path (``AWS_DATA_PATH`` and ``~/.aws/models``, as botocore
# reads them): sessions that would search different paths do not share.
_loaders: dict[str, botocore.loaders.Loader] = {}


def new_session(**kwargs: Any) -> boto3.session.Session:
    """A new ``boto3.session.Session(**kwargs)`` that shares this process's model loader.

    Credentials, region and profile are the new session's own, as with
    ``boto3.session.Session``; only the parsed service models are shared.
    """
    with _lock:
        core = botocore.session.get_session()
        data_path = core.get_config_variable("data_path") or ""
        loader = _loaders.get(data_path)
        if loader is None:
            loader = _loaders[data_path] = botocore.loaders.create_loader(data_path or None)
        core.register_component("data_loader", loader)
        session = boto3.session.Session(botocore_session=core, **kwargs)
        # boto3 appends its own data directory to the loader of every session it
        # makes; the shared loader keeps one copy, or its search would grow.
        paths = loader.search_paths
        paths[:] = list(dict.fromkeys(paths))
    return session


def command_session(*, endpoint_url: str | None, region: str | None) -> boto3.session.Session:
    """The session a command line tool talks to AWS with.

    :param endpoint_url: the endpoint the command was given, if any. With one and
        no credentials configured, the session carries dummy ones: an emulator
        accepts any, and real AWS never sees them (the endpoint is not AWS).
    :param region: @default - ``AWS_REGION``, else boto3's configuration
        (``AWS_DEFAULT_REGION``, the profile). The session's ``region_name`` is
        None when none of them gives one; the caller says so in its own words.
    """
    region = region or os.environ.get("AWS_REGION") or None
    session = new_session(region_name=region)
    if endpoint_url and session.get_credentials() is None:
        session = new_session(
            region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
    return session


__all__ = ["command_session", "new_session"]
