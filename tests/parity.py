#!/usr/bin/env python
"""Parity runner: official-format checkpoints through gan-zoo's own loader vs the official outputs.

    python tests/parity.py PATH...

PATH is a case folder (holding case.json) or a folder searched recursively for them. Each case
loads its checkpoint with ``zoo.loading.load_network`` (format detection included), runs the call
that case.json describes, and prints ``PASS <case> max_abs_err=...`` or ``FAIL <case> <reason>``.
Exit status 1 if any case fails. A case.json field this runner does not know is a failure.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Fields that only describe a case (provenance, statistics, prose) and need no action.
DESCRIPTIVE = {
    "arch", "source", "case_name", "checkpoint_format", "family", "fp32_vs_fp64_max_abs_diff",
    "input_generation", "mimics_official_file", "notes", "output_stats", "visibility", "weights",
}


class CaseFailure(Exception):
    """A case did not pass; the message is the reason printed after FAIL."""


def find_cases(paths: list[str]) -> list[Path]:
    cases: list[Path] = []
    for p in map(Path, paths):
        if (p / "case.json").is_file():
            cases.append(p)
        elif p.is_dir():
            cases.extend(sorted(c.parent for c in p.rglob("case.json")))
        else:
            raise SystemExit(f"error: {p} is neither a case folder nor a folder of cases")
    return cases


def _compare(name: str, got, expected, tolerance: dict[str, float]) -> float:
    import torch

    if tuple(got.shape) != tuple(expected.shape):
        raise CaseFailure(f"{name}: shape {list(got.shape)} != expected {list(expected.shape)}")
    err = (got.double() - expected.double()).abs().max().item()
    if not torch.allclose(got.double(), expected.double(), atol=tolerance["atol"], rtol=tolerance["rtol"]):
        raise CaseFailure(f"{name}: max_abs_err={err:.3g} over tolerance atol={tolerance['atol']} rtol={tolerance['rtol']}")
    return err


def run_esrgan(case_dir: Path, case: dict[str, Any]) -> float:
    """ESRGAN family: ``output = model(input)`` in eval mode, fp32, no_grad."""
    import torch
    from safetensors.torch import load_file

    from zoo.formats.esrgan import WRAPPER_KEYS
    from zoo.loading import load_network

    known = DESCRIPTIVE | {
        "checkpoint_file", "config", "io_file", "io_tensors", "tolerance", "call", "wrapper_keys",
        "num_params", "state_dict_num_tensors",
    }
    _check_fields(case, known)
    if "output = model(input)" not in case["call"]:
        raise CaseFailure(f"call not understood: {case['call'][:80]!r}")
    net, _, cfg = load_network(case_dir / case["checkpoint_file"], config=case["config"])
    wrappers = case.get("wrapper_keys", [])
    expected_wrapper = next((k for k in WRAPPER_KEYS if k in wrappers), "")
    if wrappers and expected_wrapper == "":
        raise CaseFailure(f"wrapper keys {wrappers} not understood")
    if cfg.get("wrapper", "") != expected_wrapper:
        raise CaseFailure(f"took the state dict from {cfg.get('wrapper')!r}, the official loader takes {expected_wrapper!r}")
    if "num_params" in case:
        n = sum(p.numel() for p in net.parameters())
        if n != case["num_params"]:
            raise CaseFailure(f"{n} parameters, expected {case['num_params']}")
    if "state_dict_num_tensors" in case and len(net.state_dict()) != case["state_dict_num_tensors"]:
        raise CaseFailure(f"{len(net.state_dict())} tensors, expected {case['state_dict_num_tensors']}")
    io = load_file(str(case_dir / case["io_file"]))
    unknown = set(case["io_tensors"]) - {"input", "output"}
    if unknown:
        raise CaseFailure(f"io tensors not understood: {sorted(unknown)}")
    x = io["input"]
    if list(x.shape) != case["io_tensors"]["input"]:
        raise CaseFailure(f"input shape {list(x.shape)} != case.json {case['io_tensors']['input']}")
    with torch.no_grad():
        y = net.eval().float()(x.float())
    return _compare("output", y, io["output"], case["tolerance"])


def run_junyanz(case_dir: Path, case: dict[str, Any]) -> float:
    """pix2pix / CycleGAN networks: eval-mode output, plus batch-statistics output where given."""
    import hashlib

    import torch
    from safetensors.torch import load_file

    from zoo.archs.norms import set_test_mode
    from zoo.loading import load_network

    known = DESCRIPTIVE | {"checkpoint", "config", "config_kind", "call", "call_extra", "io", "tolerance", "controls",
                           "default_test_semantics", "init"}
    _check_fields(case, known)
    if "output = net(input)" not in case["call"]:
        raise CaseFailure(f"call not understood: {case['call'][:80]!r}")
    kind = case.get("config_kind", "")
    if kind not in ("define_G kwargs", "define_D kwargs"):
        raise CaseFailure(f"config_kind not understood: {kind!r}")
    io = load_file(str(case_dir / "io.safetensors"))
    unknown = set(case["io"]) - {"input", "output", "output_bn_batchstats"}
    if unknown or set(case["io"]) != set(io):
        raise CaseFailure(f"io tensors not understood: {sorted(unknown or set(case['io']) ^ set(io))}")
    if "output_bn_batchstats" in io and "output_bn_batchstats" not in case.get("call_extra", ""):
        raise CaseFailure("output_bn_batchstats present but call_extra does not describe it")
    info = case["checkpoint"]
    files = {info["file"]: info} | {name: extra for name, extra in info.get("extra_files", {}).items()}
    worst = 0.0
    for name, meta in files.items():
        path = case_dir / name
        if "sha256" in meta and hashlib.sha256(path.read_bytes()).hexdigest() != meta["sha256"]:
            raise CaseFailure(f"{name} does not match its sha256 in case.json")
        net, _, cfg = load_network(path, config=case["config"])
        is_generator = net.descriptor.task != "discriminate"
        if is_generator != (kind == "define_G kwargs"):
            raise CaseFailure(f"{name} loaded as {cfg['arch']}, but the case is about {kind}")
        expected_keys = info.get("num_keys_of_current_official_model")
        if expected_keys is not None and len(net.state_dict()) != expected_keys:
            raise CaseFailure(f"{name}: {len(net.state_dict())} keys, the official model has {expected_keys}")
        x = io["input"]
        if list(x.shape) != case["io"]["input"]["shape"]:
            raise CaseFailure(f"input shape {list(x.shape)} != case.json {case['io']['input']['shape']}")
        with torch.no_grad():
            worst = max(worst, _compare(f"{name} output", set_test_mode(net, "eval")(x), io["output"], case["tolerance"]))
            if "output_bn_batchstats" in io:
                got = set_test_mode(net, "official")(x)
                worst = max(worst, _compare(f"{name} output_bn_batchstats", got, io["output_bn_batchstats"], case["tolerance"]))
    return worst


def run_stylegan2(case_dir: Path, case: dict[str, Any]) -> float:
    """StyleGAN2 (NVIDIA G_ema state dict + init_kwargs, or a rosinality checkpoint): mapping, images,
    noise mode none, style mixing and W+ input, each against the stored reference."""
    import torch
    from safetensors.torch import load_file

    from zoo.loading import load_network

    known = DESCRIPTIVE | {"config", "call", "tensors", "tolerance", "checkpoint_format"}
    _check_fields(case, known)
    io = load_file(str(case_dir / "io.safetensors"))
    understood = {"z", "c", "ws", "img", "img_noise_none", "ws_mix", "img_mix", "latent", "z2", "latent_mix", "wplus_in", "img_wplus"}
    if set(io) - understood or set(case["tensors"]) != set(io):
        raise CaseFailure(f"io tensors not understood: {sorted(set(io) - understood or set(case['tensors']) ^ set(io))}")
    config = case["config"]
    if (case_dir / "G_ema.safetensors").is_file():
        net, _, _ = load_network(case_dir / "G_ema.safetensors", config=config["init_kwargs"])
        psi, ws_key = config["truncation_psi"], "ws"
        if config.get("noise_mode", "const") != "const" or config.get("truncation_cutoff") is not None:
            raise CaseFailure("only noise_mode const without a truncation cutoff is understood for the main call")
    elif (case_dir / "checkpoint.pt").is_file():
        kwargs = {k: config[k] for k in ("size", "style_dim", "n_mlp", "lr_mlp", "blur_kernel", "channel_multiplier") if k in config}
        net, _, _ = load_network(case_dir / "checkpoint.pt", config=kwargs)
        if config.get("randomize_noise", True):
            raise CaseFailure("randomize_noise=True is random: no reference to compare")
        psi, ws_key = config["truncation"], "latent"
    else:
        raise CaseFailure("neither G_ema.safetensors nor checkpoint.pt in the case folder")
    tol = case["tolerance"]
    net = net.eval()
    with torch.no_grad():
        ws = net.mapping(io["z"], io.get("c"), truncation_psi=psi)
        worst = _compare(ws_key, ws, io[ws_key], tol)
        if "img" in io:
            worst = max(worst, _compare("img", net(io["z"], io.get("c"), truncation_psi=psi), io["img"], tol))
        if "img_noise_none" in io:
            worst = max(worst, _compare("img_noise_none", net.synthesis(io[ws_key], noise_mode="none"), io["img_noise_none"], tol))
        if "ws_mix" in io:
            worst = max(worst, _compare("img_mix", net.synthesis(io["ws_mix"]), io["img_mix"], tol))
        if "latent_mix" in io:
            inject = int(case["call"].split("inject_index=")[1].split(",")[0])
            mix = torch.cat([ws[:, :inject], net.mapping(io["z2"], None, truncation_psi=psi)[:, inject:]], 1)
            worst = max(worst, _compare("latent_mix", mix, io["latent_mix"], tol), _compare("img_mix", net.synthesis(mix), io["img_mix"], tol))
        if "wplus_in" in io:
            worst = max(worst, _compare("img_wplus", net.synthesis(io["wplus_in"]), io["img_wplus"], tol))
    return worst


def run_deepfill(case_dir: Path, case: dict[str, Any]) -> float:
    """DeepFill v2 (nipponjo's tf or pt layout, {'G', 'D'} file): ``stage1, stage2 = G(x, mask)``, the
    composite ``image * (1 - mask) + stage2 * mask`` and its uint8 PNG values (truncated, within 1)."""
    import torch
    from safetensors.torch import load_file

    from zoo.loading import load_network

    known = DESCRIPTIVE | {"config", "call", "tensors", "tolerance", "checkpoint_format", "arch", "observed", "files"}
    _check_fields(case, known)
    io = load_file(str(case_dir / "io.safetensors"))
    inputs = {"image_u8", "image_01", "image", "mask", "x"}
    outputs = {"stage1", "stage2", "inpainted", "inpainted_u8", "stage2_input", "ca_input", "ca_output"}
    if set(io) - inputs - outputs or not {"x", "mask", "image", "stage2"} <= set(io):
        raise CaseFailure(f"io tensors not understood: {sorted(set(io) - inputs - outputs)}")
    net, _, cfg = load_network(case_dir / "checkpoint.pth")
    expected_layout = "tf" if case["source"]["path"].endswith("networks_tf.py") else "pt"
    if cfg["arch_kwargs"]["layout"] != expected_layout:
        raise CaseFailure(f"read as the {cfg['arch_kwargs']['layout']} layout, the case is {expected_layout}")
    tol = case["tolerance"]
    with torch.no_grad():
        stage1, stage2 = net(io["x"], io["mask"])
    worst = _compare("stage2", stage2, io["stage2"], tol)
    if "stage1" in io:
        worst = max(worst, _compare("stage1", stage1, io["stage1"], tol))
    inpainted = io["image"] * (1 - io["mask"]) + stage2 * io["mask"]
    if "inpainted" in io:
        worst = max(worst, _compare("inpainted", inpainted, io["inpainted"], tol))
    if "inpainted_u8" in io:
        u8 = ((inpainted.permute(0, 2, 3, 1) + 1) * 127.5).to(torch.uint8)
        off = int((u8.int() - io["inpainted_u8"].int()).abs().max())
        if off > int(tol.get("inpainted_u8_max_abs_diff", 1)):
            raise CaseFailure(f"inpainted_u8 differs by {off} levels")
    return worst


def _check_fields(case: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(case) - known)
    if unknown:
        raise CaseFailure(f"case.json fields not understood: {', '.join(unknown)}")


def _unsupported(family: str) -> Callable[[Path, dict[str, Any]], float]:
    def run(case_dir: Path, case: dict[str, Any]) -> float:
        raise CaseFailure(f"family {family!r} is not supported by this version of gan-zoo yet")

    return run


def runner_of(family_name: str) -> Callable[[Path, dict[str, Any]], float]:
    """The runner a family declares (``zoo.families``: ``parity_runner``); undeclared families fail."""
    from zoo.families import family

    try:
        return globals()[family(family_name).parity_runner]
    except KeyError:
        return _unsupported(family_name)


def family_of(case_dir: Path, case: dict[str, Any]) -> str:
    return case.get("family") or case_dir.parent.name


def run_case(case_dir: Path) -> tuple[bool, str]:
    """(passed, printed line) for one case folder."""
    name = case_dir.name
    try:
        case = json.loads((case_dir / "case.json").read_text())
        family = family_of(case_dir, case)
        runner = runner_of(family)
        err = runner(case_dir, case)
        return True, f"PASS {name} max_abs_err={err:.3g}"
    except CaseFailure as exc:
        return False, f"FAIL {name} {exc}"
    except Exception as exc:  # any other error is a failure of this case, reported in one line
        detail = str(exc).splitlines()[0] if str(exc) else ""
        if "--traceback" in sys.argv:
            traceback.print_exc()
        return False, f"FAIL {name} {type(exc).__name__}: {detail}"


def main(argv: list[str]) -> int:
    paths = [a for a in argv if not a.startswith("--")]
    if not paths:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    cases = find_cases(paths)
    if not cases:
        print("FAIL no case.json found under " + " ".join(paths))
        return 1
    failed = 0
    for case_dir in cases:
        ok, line = run_case(case_dir)
        failed += not ok
        print(line, flush=True)
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
