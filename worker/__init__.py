"""rendersync's long-running processes, one module each, and the pieces they share.

Processes: ``relay`` (outbox → Kafka), ``bridge`` (Kafka → Temporal), ``temporalworker``
(the workflows and activities), and the worker's helper loops ``driftrepair``,
``antientropy`` and ``orphans``; ``redriving`` re-drives one key's sync for the CLI and
the API. Shared: ``changeevents`` (Kafka change events and a row's forced event),
``signalling`` (signal-with-start), ``topics``, ``helperloops`` (supervision) and
``pipelinemetrics``. The processes do not import each other.
"""
