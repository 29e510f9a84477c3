"""Asking the cluster who a token belongs to (TokenReview) and what a user may do
(SubjectAccessReview). Both raise on any failure to get an answer; callers fail closed."""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes_asyncio import client


@dataclass(frozen=True)
class ReviewedUser:
    username: str
    groups: tuple[str, ...]


async def review_token(
    api: client.ApiClient, *, token: str, audiences: tuple[str, ...]
) -> ReviewedUser | None:
    """The user the cluster authenticates ``token`` as, or None when it does not."""
    spec = client.V1TokenReviewSpec(token=token, audiences=list(audiences) or None)
    answer = await client.AuthenticationV1Api(api).create_token_review(
        body=client.V1TokenReview(spec=spec)
    )
    status = answer.status
    if status is None or not status.authenticated or status.user is None:
        return None
    return ReviewedUser(str(status.user.username or ""), tuple(status.user.groups or ()))


@dataclass(frozen=True)
class AccessQuestion:
    """May ``user`` (in ``groups``) ``verb`` the ``resource`` in ``namespace`` ("" = all)?"""

    user: str
    groups: tuple[str, ...]
    verb: str
    namespace: str
    group: str
    resource: str
    subresource: str = ""
    name: str = ""


async def review_access(api: client.ApiClient, question: AccessQuestion) -> bool:
    """Whether the cluster allows it (its ``status.allowed``)."""
    attributes = client.V1ResourceAttributes(
        verb=question.verb,
        namespace=question.namespace or None,
        group=question.group,
        resource=question.resource,
        subresource=question.subresource or None,
        name=question.name or None,
    )
    spec = client.V1SubjectAccessReviewSpec(
        user=question.user, groups=list(question.groups), resource_attributes=attributes
    )
    answer = await client.AuthorizationV1Api(api).create_subject_access_review(
        body=client.V1SubjectAccessReview(spec=spec)
    )
    return bool(answer.status is not None and answer.status.allowed)
