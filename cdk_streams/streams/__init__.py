"""The stream package: the rules every reader of a DynamoDB or Kinesis stream shares.

Shard readers with lineage order and checkpoints, Lambda's record shapes, the
partial-batch rule, mapping settings and the filter grammar live here, once,
with no dependency on moto or the CDK. The local cloud (``cdk_streams.local``),
the custom consumer (``cdk_streams.consumer``) and the constructs build on it.
Import from the submodules directly.
"""
