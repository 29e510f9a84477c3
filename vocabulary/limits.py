"""Size limits of an AppConfig, in bytes of UTF-8, chosen so that what the API accepts can
sync: its change event fits the Kafka producer and the Temporal payload, and its custom
resource fits the Kubernetes API server.

- Annotations: keys plus values at most 256 KiB in total, the API server's own rule, less
  what rendersync adds (the ``rendersync.dev/version`` annotation).
- spec: its JSON text at most 64 KiB (``api.spec``).
- The rendered custom resource as JSON at most 1 MiB: etcd refuses objects over 1.5 MiB,
  and the stored object also carries ``managedFields`` and ``status``.
- The change event (the outbox envelope, which carries the row image once) at most the
  producer's ``max_request_size`` less the record's framing. ``max_request_size`` is a Kafka
  setting and the API's event limit derives from it, so the two cannot disagree; it is
  capped at 1.5 MiB so that an event also fits a Temporal payload (2 MB by default) and the
  object it becomes fits etcd.

JSON is measured as it is written downstream: compact, UTF-8, not ASCII-escaped; escapes
JSON itself needs (quotes, control characters) count.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def json_text(value: Any) -> str:
    """Compact JSON with sorted keys, not ASCII-escaped: the form events are written in and
    the limits measure."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


#: The API server's limit on the total size of an object's annotations (keys + values).
KUBERNETES_ANNOTATIONS_BYTES = 256 * 1024
#: Room kept for the annotations rendersync adds to the custom resource.
RESERVED_ANNOTATION_BYTES = 64
MAX_ANNOTATIONS_BYTES = KUBERNETES_ANNOTATIONS_BYTES - RESERVED_ANNOTATION_BYTES
#: The rendered custom resource, as JSON.
MAX_OBJECT_BYTES = 1024 * 1024
#: aiokafka's default ``max_request_size``, and the setting's default.
DEFAULT_KAFKA_MAX_REQUEST_BYTES = 1024 * 1024
#: Highest ``max_request_size`` the settings accept (see the module docstring).
MAX_KAFKA_MAX_REQUEST_BYTES = 1536 * 1024
#: What a Kafka record adds to its value: batch header, varints and the key (<= 320 bytes).
KAFKA_RECORD_OVERHEAD_BYTES = 1024


def max_event_bytes(max_request_size: int) -> int:
    """The largest change event (envelope JSON, in bytes) a producer with this
    ``max_request_size`` accepts."""
    return max_request_size - KAFKA_RECORD_OVERHEAD_BYTES


def json_bytes(value: Any) -> int:
    return len(json_text(value).encode())


def string_map_bytes(value: Mapping[str, str]) -> int:
    """Keys plus values in bytes of UTF-8, as the API server counts annotations."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in value.items())
