"""The parity runner on the public fixtures: every ESRGAN case passes through gan-zoo's own loader."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import PARITY, ROOT

RUNNER = ROOT / "tests" / "parity.py"


def run(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUNNER), *map(str, paths)], capture_output=True, text=True, timeout=600)


def test_every_public_esrgan_case_passes():
    result = run(PARITY / "esrgan")
    cases = sorted(p.parent.name for p in (PARITY / "esrgan").rglob("case.json"))
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(line.split()[1] for line in lines if line.startswith("PASS")) == cases
    assert len(cases) == 8


def test_runner_fails_loudly_on_unknown_fields_and_wrong_outputs(tmp_path):
    src = PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4"
    unknown = tmp_path / "unknown_field"
    shutil.copytree(src, unknown)
    case = json.loads((unknown / "case.json").read_text())
    case["new_semantics"] = {"denoise": 0.5}
    (unknown / "case.json").write_text(json.dumps(case))

    wrong = tmp_path / "wrong_wrapper"
    shutil.copytree(src, wrong)
    case = json.loads((wrong / "case.json").read_text())
    case["wrapper_keys"] = ["params_ema"]  # the file holds 'params': the runner must notice
    (wrong / "case.json").write_text(json.dumps(case))

    result = run(tmp_path)
    assert result.returncode == 1
    assert "FAIL unknown_field case.json fields not understood: new_semantics" in result.stdout
    assert "FAIL wrong_wrapper took the state dict from 'params'" in result.stdout


def run_perturbed(case: Path, target: Path, key: str) -> subprocess.CompletedProcess:
    """The runner on a copy of ``case`` whose reference ``key`` is moved by 2e-3 (20x the tolerance)."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(case, target)
    io = load_file(str(target / "io.safetensors"))
    io[key] = io[key] + 2e-3
    save_file(io, str(target / "io.safetensors"))
    return run(target)


def test_runner_reports_output_mismatch(tmp_path):
    result = run_perturbed(PARITY / "esrgan" / "realesrgan_rrdbnet_x4_f16_b2_g8", tmp_path / "perturbed", "output")
    assert result.returncode == 1
    assert "FAIL perturbed output: max_abs_err=" in result.stdout


def test_every_public_deepfill_case_passes():
    result = run(PARITY / "deepfill")
    cases = sorted(p.parent.name for p in (PARITY / "deepfill").rglob("case.json"))
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(line.split()[1] for line in lines if line.startswith("PASS")) == cases and len(cases) == 3


def test_an_undeclared_family_fails_rather_than_passes(tmp_path):
    import shutil

    case = tmp_path / "unknown_case"
    shutil.copytree(PARITY / "deepfill" / "pt_c16_64x64", case)
    data = json.loads((case / "case.json").read_text())
    (case / "case.json").write_text(json.dumps({**data, "family": "no-such-family"}))
    result = run(case)
    assert result.returncode == 1 and "FAIL unknown_case" in result.stdout


def test_every_public_pix2pix_cyclegan_case_passes():
    result = run(PARITY / "pix2pix_cyclegan")
    cases = sorted(p.parent.name for p in (PARITY / "pix2pix_cyclegan").rglob("case.json"))
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(line.split()[1] for line in lines if line.startswith("PASS")) == cases
    assert len(cases) == 3
    assert lines[-1] == "3 passed, 0 failed"


def test_runner_checks_batch_statistics_output_of_pix2pix_cases(tmp_path):
    """output_bn_batchstats (the official default BatchNorm behaviour) is compared, not just the eval output."""
    result = run_perturbed(PARITY / "pix2pix_cyclegan" / "pix2pix_patchgan_d_bn", tmp_path / "perturbed_bn", "output_bn_batchstats")
    assert result.returncode == 1
    assert "FAIL perturbed_bn checkpoint.pth output_bn_batchstats: max_abs_err=" in result.stdout
