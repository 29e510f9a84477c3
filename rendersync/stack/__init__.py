"""Start and stop the embedded services (Temporal, Kafka, PostgreSQL, Git remote) on loopback.

A leaf package: the CLI's dev stack and the test fixtures use it; it imports no application
layer. Nothing starts at import time.
"""
