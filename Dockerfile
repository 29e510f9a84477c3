# syntax=docker/dockerfile:1
# One image for every rendersync process; the command picks it:
#   rendersync api | relay | bridge | worker | db upgrade
# Build: docker build -t rendersync:0.1.0 .   (see docs/deploy.md)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: wheels of rendersync and its runtime dependencies, never the dev extras ------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY rendersync ./rendersync
COPY api ./api
COPY persistence ./persistence
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY k8s ./k8s
COPY gitops ./gitops
COPY vocabulary ./vocabulary
RUN pip wheel --wheel-dir /wheels .

# --- runtime: a virtualenv installed from those wheels only, git, a non-root user ----------
FROM ${PYTHON_IMAGE} AS runtime
# git is what the worker commits and pushes the GitOps repository with; openssh-client lets
# it push over ssh. Versions follow the base image's Debian release (its security updates).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 rendersync \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin rendersync
# The wheels are mounted from the build stage, so no layer keeps them; --no-index: exactly
# those wheels, nothing else is resolved at this point.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/rendersync \
    && /opt/rendersync/bin/pip install --no-cache-dir --no-index --find-links /wheels rendersync
# The root filesystem can be mounted read-only: no bytecode is written at run time, HOME and
# temporary files are under /tmp, the Git clone under /var/lib/rendersync (both emptyDirs).
ENV PATH=/opt/rendersync/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    RENDERSYNC_API__HOST=0.0.0.0 \
    RENDERSYNC_METRICS__HOST=0.0.0.0 \
    RENDERSYNC_KUBERNETES__KUBECONFIG= \
    RENDERSYNC_GIT__WORKDIR=/var/lib/rendersync/git-work \
    RENDERSYNC_LOG__JSON=true
WORKDIR /var/lib/rendersync
USER 10001:10001
EXPOSE 8000 9101 9102 9103
ENTRYPOINT ["/usr/bin/tini", "--", "rendersync"]
CMD ["--help"]
