"""The web console: static pages at ``/ui/`` over the API's own endpoints, the change feed
and its ``watch`` stream, the ``replay`` and ``timeline`` subresources.

``docs/console.md`` describes the pages and why the live updates work the way they do.
"""
