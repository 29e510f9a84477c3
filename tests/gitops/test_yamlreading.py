"""Reading GitOps files with libyaml's parser: the same documents, the safe tags only."""

from __future__ import annotations

import pytest
import yaml

from gitops.yamlreading import LOADER, load_yaml
from k8s.manifests import render_appconfig, render_yaml


def test_reads_with_libyaml_where_pyyaml_has_it() -> None:
    assert yaml.__with_libyaml__, "the PyYAML installed here carries no libyaml"
    assert LOADER is yaml.CSafeLoader


def test_reads_what_the_writer_wrote_as_the_python_parser_does() -> None:
    cr = render_appconfig(
        namespace="team-a",
        name="web",
        spec={"app": "web", "replicas": 3, "data": {"greeting": "héllo: world", "n": "0012"}},
        labels={"team": "a"},
        annotations={"note": "multi\nline"},
        seq=7,
    )
    text = render_yaml(cr)
    assert load_yaml(text) == yaml.load(text, Loader=yaml.SafeLoader)
    assert load_yaml(text)["metadata"]["annotations"]["rendersync.dev/version"] == "7"


def test_refuses_tags_beyond_the_safe_ones() -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")
