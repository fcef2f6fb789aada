"""A simulator of Lambda's stream event-source mapping on a virtual clock, and the
capacity planner built on it.

It runs the stream package's own rules (batching, retries, bisecting, partial
batches, record age, on-failure) on modelled traffic, shards and handler
timing, and reports iterator age, concurrency, invocations, lost records and
monthly cost. Import from the submodules: :mod:`.traffic`, :mod:`.shards`,
:mod:`.handler_model`, :mod:`.simulator`, :mod:`.costs`, :mod:`.report`,
:mod:`.planner`.
"""
