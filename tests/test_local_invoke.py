"""Lambda Invoke in the local cloud runs the function's own code in the cloud's workers
(moto alone would need Docker): boto3's invoke, as `aws lambda invoke` sends it."""

from __future__ import annotations

import base64
import inspect
import json

from cdk_streams.local import LocalCloud, moto_patch
from tests.zip_functions import create_zip_function

CODE = """
import os
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    print("got", event)
    return {"echo": event, "function": context.function_name, "env": os.environ.get("GREETING")}
"""


def test_invoke_still_has_the_signature_the_patch_assumes() -> None:
    from moto.awslambda.models import LambdaBackend

    parameters = tuple(inspect.signature(LambdaBackend.invoke).parameters)
    assert parameters == moto_patch.EXPECTED_INVOKE_PARAMETERS


def test_invoke_runs_the_code_with_its_environment_and_is_undone_on_stop() -> None:
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.invoke
    with LocalCloud() as cloud:
        lam = cloud.client("lambda")  # the first client waits for the patch
        assert LambdaBackend.invoke is not original
        create_zip_function(
            cloud, "echo", CODE, module="index", Environment={"Variables": {"GREETING": "hello"}}
        )

        answer = lam.invoke(FunctionName="echo", Payload=b'{"n": 1}', LogType="Tail")
        assert json.loads(answer["Payload"].read()) == {
            "echo": {"n": 1},
            "function": "echo",
            "env": "hello",
        }
        log = base64.b64decode(answer["LogResult"]).decode()
        assert "got {'n': 1}" in log and log.startswith("START RequestId: ")

        failed = lam.invoke(FunctionName="echo", Payload=b'{"fail": true}')
        assert failed["FunctionError"] == "Unhandled"
        error = json.loads(failed["Payload"].read())
        assert (error["errorType"], error["errorMessage"]) == ("ValueError", "asked to fail")

        queued = lam.invoke(FunctionName="echo", Payload=b"{}", InvocationType="Event")
        assert queued["StatusCode"] == 202
    assert LambdaBackend.invoke is original
