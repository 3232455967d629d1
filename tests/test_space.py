"""The repository is a Hugging Face Space as it stands: the README's front matter, requirements.txt
consistent with pyproject.toml, app.py as the entry point."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"\A---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "README.md must start with the Space's YAML front matter"
    return yaml.safe_load(match.group(1))


def requirement_lines() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_readme_front_matter_describes_a_gradio_space():
    meta = front_matter()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["sdk"] == "gradio" and (ROOT / meta["app_file"]).is_file() and meta["app_file"] == "app.py"
    assert meta["license"] == project["license"].lower()
    assert len(meta["short_description"]) <= 60  # the Hub's limit
    from packaging.specifiers import SpecifierSet

    gradio_spec = next(r for r in project["optional-dependencies"]["app"] if r.startswith("gradio"))
    assert SpecifierSet(gradio_spec[len("gradio"):]).contains(meta["sdk_version"])


def test_requirements_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [r.replace(" ", "") for r in project["dependencies"] + project["optional-dependencies"]["app"]
              + project["optional-dependencies"]["weights"]]
    assert sorted(r.replace(" ", "") for r in requirement_lines()) == sorted(wanted)


def test_the_wheel_carries_the_app():
    """`zoo serve` runs zoo.app from an installed package: the tabs and their examples are inside `zoo`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["zoo"]
    assert (ROOT / "zoo" / "app" / "server.py").is_file() and list((ROOT / "zoo" / "app" / "examples").glob("*.png"))
