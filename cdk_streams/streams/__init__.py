"""The rules of Lambda's stream event sources, written once: record shapes, mapping settings,
delivery and partial-batch rules, the shard reader and the event-filter grammar. Nothing here
imports the AWS CDK or moto, so the constructs' synth checks, the local cloud and the
production consumer can all build on it. Import from the submodules directly.
"""
