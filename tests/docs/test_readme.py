"""The README stays true: every setting is in its table, and CI runs its test command."""

from __future__ import annotations

from pathlib import Path

from rendersync.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def setting_names() -> list[str]:
    names = []
    for group, field in Settings.model_fields.items():
        model = field.annotation
        assert model is not None
        for name, sub in model.model_fields.items():
            names.append(f"RENDERSYNC_{group.upper()}__{(sub.alias or name).upper()}")
    return names


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in setting_names() if f"`{name}`" not in readme]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
