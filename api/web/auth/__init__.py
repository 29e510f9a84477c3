"""Authentication, authorization and audit of the REST API.

``config.AuthConfig`` holds the chain of authenticators (the first that recognises a
credential decides) and of authorizers (deny unless one allows); ``guard`` applies both to
every AppConfig route, deriving verb and namespace from the route; ``audit`` writes one log
line per write and per denied request. ``docs/security.md`` describes the model.
"""
