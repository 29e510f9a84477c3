"""Fixtures for the emulator's own tests: the Kubernetes layer's emulator and a client of it."""

from __future__ import annotations

from tests.k8s.conftest import api, emulator

__all__ = ["api", "emulator"]
