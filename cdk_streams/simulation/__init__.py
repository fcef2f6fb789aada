"""A simulator of Lambda's stream event-source mapping on a virtual clock, and the
capacity planner built on it (``cdk-streams plan``).

It runs the stream package's own rules (batching, retries, bisecting, partial
batches, record age, on-failure) on modelled traffic, shards and handler
timing, and reports iterator age, concurrency, invocations, lost records and
monthly cost. Import from the submodules:

* the models: :mod:`.traffic`, :mod:`.shards`, :mod:`.handler_model`;
* the simulation: :mod:`.simulator`, over :mod:`.polling` (how a lane is
  polled), :mod:`.exact_lane` (record by record) and :mod:`.aggregate_lane`
  (records as counts), measured by :mod:`.metrics`;
* the answers: :mod:`.costs`, :mod:`.report`, :mod:`.planner` and :mod:`.plot`.
"""
