"""Start and stop the embedded services (Temporal, Kafka, a Git remote) on loopback.

A leaf package: the dev stack, the benchmark and the test fixtures use it; it imports no
application layer. Nothing starts at import time.
"""
