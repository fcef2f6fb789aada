"""The stream package: the rules Lambda applies to DynamoDB and Kinesis stream
mappings, written once and shared by the local cloud, the custom consumer, the
testing module and synth validation, the event-filter grammar included. Nothing
here talks to AWS, moto or the CDK; import from the submodules directly
(``cdk_streams.streams.records``, ``cdk_streams.streams.delivery``, ...).
"""
