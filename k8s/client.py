"""The one place that builds Kubernetes API clients."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from kubernetes_asyncio import client, config
from kubernetes_asyncio.config.config_exception import ConfigException

from .errors import PermanentKubernetesError

log = logging.getLogger(__name__)


async def make_api_client(*, kubeconfig: Path | None, context: str | None) -> client.ApiClient:
    """An ApiClient for ``kubeconfig`` if that file exists, else in-cluster, else the default
    kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``).

    Never touches the library's global default configuration, so several clients (one per
    test emulator, say) can coexist. The caller closes the client. Bad or missing
    configuration raises :class:`PermanentKubernetesError`.
    """
    configuration = client.Configuration()
    try:
        if kubeconfig is not None and await asyncio.to_thread(kubeconfig.is_file):
            await config.load_kube_config(
                config_file=str(kubeconfig),
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
            source = str(kubeconfig)
        else:
            source = _in_cluster_or_default(configuration)
            if source == "default":
                await config.load_kube_config(
                    context=context, client_configuration=configuration, persist_config=False
                )
    except (ConfigException, OSError) as exc:
        raise PermanentKubernetesError(f"cannot configure a Kubernetes client: {exc}") from exc
    log.debug("kubernetes client configured from %s for %s", source, configuration.host)
    return client.ApiClient(configuration=configuration)


def _in_cluster_or_default(configuration: client.Configuration) -> str:
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except ConfigException:
        return "default"
    return "in-cluster"
