"""A family is declared once (zoo/families): every table is derived, and nothing else names one."""

from __future__ import annotations

import importlib
import io
import json
import tokenize
from pathlib import Path

import pytest

import zoo.app as demos
import zoo
from conftest import ROOT
from zoo import cli, families, loading, registry
from zoo.archs import arch_classes, arch_limits, build, describe
from zoo.archs.descriptor import Descriptor

import parity  # tests/parity.py


def test_tables_are_derived_from_the_family_list():
    declared = families.families()
    assert [f.name for f in declared] == list(families.MODULES)
    assert registry.family_names() == families.family_names()
    assert {m.family for m in zoo.list_models()} == set(families.family_names())
    assert {m.task for m in zoo.list_models()} == set(families.task_names())
    claimed = [arch for f in declared for arch in f.archs]
    assert sorted(claimed) == sorted(set(claimed)) == sorted(arch_classes()) == sorted(arch_limits())
    for f in declared:
        modules = [importlib.import_module(f"zoo.archs.{m}") for m in f.arch_modules]
        assert set(f.archs) <= {a for m in modules for a in m.ARCHS}, f.name
        for reader in f.readers:
            module = importlib.import_module(f"zoo.formats.{reader}")
            assert hasattr(module, "convert") or hasattr(module, "read_file"), reader
        importlib.import_module(f"zoo.catalog.{f.catalog}")
        assert f.parity_runner == "" or callable(getattr(parity, f.parity_runner)), f.parity_runner


def test_every_task_has_its_class_command_and_tab():
    parser = cli.build_parser()
    commands = next(a for a in parser._subparsers._group_actions).choices
    for task in families.task_names():
        cls = loading.task_class(task)
        assert cls.task == task
        if task not in families.front_end_tasks():
            assert task not in commands and f"zoo.app.{task}" not in demos.TABS
            continue
        assert task in commands, f"no `zoo {task}` command"
        assert f"zoo.app.{task}" in demos.TABS, f"no tab for {task}"
        assert importlib.import_module(f"zoo.app.{task}").LABEL
    list_parser = commands["list"]
    choices = {a.dest: a.choices for a in list_parser._actions if a.choices}
    assert tuple(choices["task"]) == families.task_names() and tuple(choices["family"]) == families.family_names()


def _string_literals(path: Path) -> list[tuple[int, str]]:
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type == tokenize.STRING:
            try:
                value = eval(tok.string, {})  # a literal: plain, raw or byte string
            except Exception:  # noqa: BLE001  (an f-string: its literal parts are not names)
                continue
            out.append((tok.start[0], value))
    return out


def _family_files() -> dict[Path, set[str]]:
    """Each file a family declares (its arch, reader and catalog modules) -> the families that own it.
    The declarations themselves (zoo/families) belong to every family."""
    owners: dict[Path, set[str]] = {p: set(families.family_names()) for p in (ROOT / "zoo" / "families").glob("*.py")}
    for f in families.families():
        files = {ROOT / "zoo" / "catalog" / f"{f.catalog}.py"}
        files |= {ROOT / "zoo" / "archs" / f"{m}.py" for m in f.arch_modules}
        files |= {ROOT / "zoo" / "formats" / f"{m}.py" for m in f.readers}
        if f.recipe:
            files.add(ROOT / "zoo" / "train" / "recipes" / f"{f.recipe}.py")
        for path in files:
            owners.setdefault(path, set()).add(f.name)
    return owners


def _names_typed_by_hand(path: Path, owners: dict[Path, set[str]]) -> list[str]:
    """Family or architecture names in ``path``'s string literals that it may not spell.

    Shared code (tasks, loaders, CLI, app, parity runner) may spell none. A family's own modules
    may spell their families' names and any architecture vocabulary (StyleGAN2's synthesis
    architecture 'resnet' is NVIDIA's word, not CycleGAN's network), but no other family's name.
    """
    family_names = set(families.family_names())
    arch_names = {a for f in families.families() for a in f.archs}
    own = owners.get(path)
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    found = []
    for line, value in _string_literals(path):
        if own is None and value in family_names | arch_names:
            found.append(f"{where}:{line}: {value!r}")
        elif own is not None and value in family_names - own:
            found.append(f"{where}:{line}: {value!r}")
    return found


def test_nothing_outside_a_familys_modules_names_it_or_its_architectures():
    owners = _family_files()
    scanned = sorted((ROOT / "zoo").rglob("*.py")) + [ROOT / "app.py", ROOT / "tests" / "parity.py"]
    found = [hit for path in scanned for hit in _names_typed_by_hand(path, owners)]
    assert not found, "named by hand outside the family's modules:\n" + "\n".join(found)


def test_the_scan_finds_a_name_typed_by_hand(tmp_path):
    """The scan above must be able to fail: a literal family or arch name in shared code is caught,
    and so is another family's name in a family's module."""
    sample = tmp_path / "task.py"
    sample.write_text('GLOBAL = ("unet",)\nif family == "pix2pix":\n    pass\nprint(f"{x} cyclegan")\n')
    assert [h.rsplit(" ", 1)[-1] for h in _names_typed_by_hand(sample, {})] == ["'unet'", "'pix2pix'"]
    owners = {sample: {"esrgan"}}
    assert [h.rsplit(" ", 1)[-1] for h in _names_typed_by_hand(sample, owners)] == ["'pix2pix'"]


@pytest.mark.parametrize("arch", sorted(arch_classes()))
def test_every_network_describes_itself(arch):
    d = describe(arch, {})
    assert isinstance(d, Descriptor) and d.task in ("upscale", "translate", "discriminate", "generate", "measure", "inpaint")
    assert d.in_channels >= 1 and d.out_channels >= 1 and d.scale >= 1 and d.size_multiple >= 1
    assert d.context is None or d.context >= 0
    assert json.loads(json.dumps(d.as_json()))["task"] == d.task
    assert build(arch, {}, meta=True).descriptor == d


def test_a_converted_folder_records_its_descriptor(tmp_path):
    from conftest import PARITY
    from zoo import importing

    folder, _ = importing.import_file(PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4" / "checkpoint.pth", out=tmp_path / "out")
    config = json.loads((folder / "config.json").read_text())
    net = zoo.load(folder).net
    assert config["descriptor"] == net.descriptor.as_json()
    assert config["descriptor"]["context"] == 8 and config["descriptor"]["context_exact"]  # 4 convs + 2, rounded to 8
