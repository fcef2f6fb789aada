"""Day-2 operations on a stream consumer: replay the batches a mapping skipped
(:mod:`.redrive`) and backfill a new consumer with a table's existing items
(:mod:`.backfill`).

Everything here talks to AWS through the public APIs with boto3 clients, so it
works the same against AWS and against ``cdk-streams local`` (pass the
endpoint). Lambda's rules come from :mod:`cdk_streams.streams`. Import from the
submodules directly (``cdk_streams.operations.redrive``, ...).
"""
