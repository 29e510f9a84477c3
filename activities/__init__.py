"""Temporal activities: Kubernetes apply/delete, Git commit/remove, status write-back."""
