"""The ``zoo`` command line. Every command has ``--help``; errors print one line and exit 1."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from importlib import util
from pathlib import Path
from typing import Any, Sequence

from .errors import ZooError
from .families import family_names, task_names

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".tga", ".ppm", ".pgm"}
DEFAULT_UPSCALER = "realesrgan-x4plus"
DEFAULT_TRANSLATOR = "cyclegan-horse2zebra"
DEFAULT_GENERATOR = "stylegan2-ffhq"
DEFAULT_INPAINTER = "deepfill-places2"
PROJECT_DISTANCES = ("auto", "lpips", "discriminator", "mse")  # zoo.tasks.project.DISTANCES, without importing torch


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


# -- registry commands -------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from . import list_models
    from .weights import available_locally

    models = list_models(task=args.task, family=args.family)
    if args.json:
        print(json.dumps([dict(m.summary(), available_offline=available_locally(m)) for m in models], indent=2))
        return 0
    rows = [(m.name, m.task, m.family, _output_label(m.summary()), m.licence, "yes" if available_locally(m) else "no") for m in models]
    header = ("name", "task", "family", "output", "licence", "offline")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def _output_label(summary: dict) -> str:
    """What an entry outputs, in a word: an upscaler's factor (x4), a generator's size (1024px)."""
    if summary.get("scale"):
        return f"x{summary['scale']}"
    return f"{summary['resolution']}px" if summary.get("resolution") and summary.get("task") == "generate" else ""


def cmd_info(args: argparse.Namespace) -> int:
    from . import info
    from .cards import card_path
    from .cache import cached_folder

    entry = info(args.name)
    summary = entry.summary()
    folder = cached_folder(entry)
    summary["cached"] = str(folder) if folder else None
    summary["card"] = str(card_path(entry.card))
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    for key, value in summary.items():
        if key == "sources" and entry.directions:
            continue  # listed per direction below
        if key == "sources":
            print("sources:")
            for i, s in enumerate(value, 1):
                print(f"  {i}. {s}")
        elif key == "directions" and value:
            print("directions:")
            for d in value:
                print(f"  {d['name']}: {d['input']} -> {d['output']} ({d['official_name']})")
                for i, s in enumerate(d["sources"], 1):
                    print(f"    {i}. {s}")
        elif value not in (None, "", []):
            print(f"{key}: {value}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from . import list_models
    from .registry import get
    from .weights import download_model

    if args.all == bool(args.names):
        return _fail("give model names or --all (not both)")
    entries = list_models() if args.all else [get(n) for n in args.names]
    failures = 0
    for entry in entries:
        try:
            folder = download_model(entry, force=args.force)
            print(f"{entry.name}: {folder}")
        except ZooError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
    return 1 if failures else 0


def cmd_import(args: argparse.Namespace) -> int:
    from .importing import import_file

    config = json.loads(args.config) if args.config else None
    if config is not None and not isinstance(config, dict):
        return _fail("--config must be a JSON object of official constructor arguments")
    folder, converted = import_file(Path(args.checkpoint), name=args.name, out=Path(args.out) if args.out else None, config=config)
    n = sum(int(t.numel()) for t in converted.state_dict.values())
    kwargs = ", ".join(f"{k}={v}" for k, v in converted.arch_kwargs.items())
    print(f"detected: {converted.family} / {converted.layout}" + (f" (wrapper {converted.wrapper!r})" if converted.wrapper else ""))
    print(f"network: {converted.arch}({kwargs}), {len(converted.state_dict)} tensors, {n:,} parameters, strict key match")
    for note in converted.notes:
        print(f"note: {note}")
    print(f"wrote: {folder}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from .hub import push

    result = push(args.name_or_dir, args.repo, revision=args.revision, private=args.private, token=args.token)
    print(f"pushed {args.name_or_dir} to {result.repo_id} at commit {result.commit}")
    return 0


# -- upscale ---------------------------------------------------------------------------------


def _inputs(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()))
        elif p.exists():
            files.append(p)
        else:
            raise ZooError(f"no such file or folder: {p}")
    if not files:
        raise ZooError("no input images found")
    return files


LOSSY_SUFFIXES = (".jpg", ".jpeg", ".webp")  # what save_atomic writes lossily


def _output_path(src: Path, out_dir: Path, mode: str, lossless: bool = False) -> Path:
    suffix = src.suffix.lower()
    if (suffix in (".jpg", ".jpeg") and (mode not in ("RGB", "L"))) or (lossless and suffix in LOSSY_SUFFIXES):
        suffix = ".png"  # JPEG holds neither alpha nor 16 bits; a lossless job keeps every pixel it did not change
    return out_dir / (src.stem + suffix)


def _reason(exc: BaseException) -> str:
    """The cause of ``exc`` on one line (an OSError's strerror, without the temp file's name)."""
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else None) or " ".join(str(exc).split()) or type(exc).__name__


def save_atomic(image: Any, dest: Path) -> None:
    """Save a PIL image to ``dest`` atomically (``atomic.replace_file``): on failure nothing is left
    behind and an existing ``dest`` is untouched; ``dest`` gets the usual permissions."""
    from .atomic import replace_file

    fmt_kwargs = {"quality": 95} if dest.suffix.lower() in (".jpg", ".jpeg", ".webp") else {}
    with replace_file(dest) as tmp:
        try:
            image.save(tmp, **fmt_kwargs)  # the temporary name keeps the suffix, so the format follows it
        except (KeyError, ValueError) as exc:
            raise ZooError(f"cannot write {dest.name} ({_reason(exc)})") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


TASK_DEFAULTS = {"upscale": DEFAULT_UPSCALER, "translate": DEFAULT_TRANSLATOR, "generate": DEFAULT_GENERATOR,
                 "inpaint": DEFAULT_INPAINTER}


def default_model(task: str) -> str:
    """The task's default model (``weights.local_default``), said on stderr when it is not the released one."""
    from . import registry, weights
    from .catalog.bundled import is_demo

    preferred = TASK_DEFAULTS[task]
    chosen = weights.local_default(task, preferred)
    if chosen != preferred:
        what = "the bundled demo weights " if is_demo(registry.get(chosen)) else ""
        print(f"note: {preferred} is not here; using {what}{chosen} (for the released ones: zoo info {preferred})",
              file=sys.stderr)
    return chosen


def _load_task(model: str | None, task: str, what: str, **load_kwargs: Any):
    """``zoo.load(model)``, refused with one line when it is a model for another task than ``what``
    (``model`` None: the task's ``default_model``)."""
    from .loading import load

    model = model or default_model(task)
    loaded = load(model, **load_kwargs)
    if loaded.task != task:
        raise ZooError(f"{model} is a {loaded.info.family} model for {loaded.task}, not {what}")
    return loaded


def _image_job(args: argparse.Namespace, task_name: str, what: str, run, *, lossless: bool = False, **load_kwargs: Any) -> int:
    """Shared body of ``upscale`` / ``translate`` / ``inpaint``: inputs -> ``run(task, image, progress,
    src)`` -> outputs.

    OUT is a folder when there are several inputs, when it is one, or when it ends with a slash.
    Refused before any model is loaded: an output that could land on an input file (e.g. OUT = IN,
    or a folder into itself) or two inputs of the same name; before any image is processed: an
    output folder that cannot be written. Each output is written atomically; one failing image
    does not stop a batch (exit code 1). ``lossless``: outputs are never written in a lossy format
    (folder outputs of JPEG/WebP inputs become PNG; a lossy OUT file is refused), for jobs that
    promise unchanged pixels.
    """
    from tqdm.auto import tqdm

    from .tasks.images import open_image

    if len(args.paths) < 2:
        return _fail("give an input (file or folder, or several files) and an output")
    *sources, target = args.paths
    inputs = _inputs(sources)
    many = len(inputs) > 1 or Path(sources[0]).is_dir()
    out_target = Path(target)
    into_dir = many or out_target.is_dir() or target.endswith(("/", os.sep))
    if into_dir and out_target.exists() and not out_target.is_dir():
        return _fail(f"{out_target} is a file; {'with several inputs ' if many else 'ending in a slash, '}the output must be a folder")
    if not into_dir and out_target.suffix.lower() not in IMAGE_SUFFIXES:
        return _fail(f"cannot tell the image format of {out_target.name}; use an extension such as .png")
    if lossless and not into_dir and out_target.suffix.lower() in LOSSY_SUFFIXES:
        return _fail(f"{out_target.name} would re-encode every pixel lossily; {task_name} keeps the pixels it does not change: use .png")
    named: dict[Path, Path] = {}
    for src in inputs:  # the name an output gets depends on its mode (JPEG -> PNG for alpha): try both
        dests = {_output_path(src, out_target, mode, lossless) for mode in ("RGB", "RGBA")} if into_dir else {out_target}
        if any(_same_file(src, dest) for dest in dests):
            return _fail(f"the output would overwrite the input {src}; choose another output file or folder")
        first = named.setdefault(_output_path(src, out_target, "RGB", lossless), src)
        if first != src:
            return _fail(f"{first} and {src} would both be written to {_output_path(src, out_target, 'RGB', lossless)}; rename one")
    task = _load_task(args.model, task_name, what, device=args.device, dtype=args.dtype, **load_kwargs)
    out_dir = out_target if into_dir else out_target.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out_dir).close()
    except OSError as exc:
        return _fail(f"cannot write into {out_dir} ({'it is a file' if isinstance(exc, FileExistsError) else _reason(exc)})")
    failures = 0
    file_bar = tqdm(inputs, unit="image", disable=not many or args.quiet, desc=task_name)
    for src in file_bar:
        try:
            image = open_image(src, max_megapixels=args.max_megapixels)
            with tqdm(total=0, unit="tile", leave=False, disable=args.quiet, desc=src.name) as bar:

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.n = done
                    bar.refresh()

                result = run(task, image, progress, src)
            dest = _output_path(src, out_target, result.mode, lossless) if into_dir else out_target
            save_atomic(result, dest)
            if not many:
                print(f"{src} -> {dest} ({image.width}x{image.height} -> {result.width}x{result.height})")
        except ZooError as exc:
            failures += 1
            print(f"error: {src.name}: {exc}" if many else f"error: {exc}", file=sys.stderr)
    return 1 if failures else 0


def cmd_upscale(args: argparse.Namespace) -> int:
    def run(upscaler, image, progress, _src):
        return upscaler(image, outscale=args.outscale, tile=args.tile, overlap=args.overlap, alpha=args.alpha,
                        progress=progress, max_megapixels=args.max_megapixels, memory_mb=args.memory_mb)

    return _image_job(args, "upscale", "an upscaler", run, interpolate=args.interpolate, partner=args.partner)


def cmd_translate(args: argparse.Namespace) -> int:
    def run(translator, image, progress, _src):
        if args.test_mode and args.test_mode != translator.test_mode:
            translator.set_test_mode(args.test_mode)
        return translator(image, direction=args.direction, size=args.size, tile=args.tile, overlap=args.overlap,
                          progress=progress, max_megapixels=args.max_megapixels, memory_mb=args.memory_mb)

    return _image_job(args, "translate", "an image-to-image translator", run)


def cmd_generate(args: argparse.Namespace) -> int:
    """``zoo generate OUT``: one image per seed (OUT a file for one seed, else a folder of seedNNNN.png)."""
    out = Path(args.out)
    many = len(args.seeds) > 1 or args.out.endswith(("/", os.sep)) or out.is_dir()
    if many and out.exists() and not out.is_dir():
        return _fail(f"{out} is a file; with several seeds the output must be a folder")
    if not many and out.suffix.lower() not in IMAGE_SUFFIXES:
        return _fail(f"cannot tell the image format of {out.name}; use an extension such as .png")
    if (args.mix_seed is None) != (args.mix_layer is None):
        return _fail("style mixing needs both --mix-seed and --mix-layer")
    edits = _parse_edits(args.edit)
    layers = _parse_layers(args.edit_layers)
    generator = _load_task(args.model, "generate", "an image generator", device=args.device, dtype=args.dtype)
    if args.direction_file:
        generator.add_directions(args.direction_file)
    for seed in args.seeds:
        image = generator(seed, psi=args.psi, cutoff=args.cutoff, noise_mode=args.noise_mode, class_index=args.class_index,
                          mix_seed=args.mix_seed, mix_layer=args.mix_layer, edits=edits, edit_layers=layers)
        dest = out / f"seed{seed:04d}.png" if many else out
        save_atomic(image, dest)
        print(f"seed {seed} -> {dest} ({image.width}x{image.height})")
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    """``zoo project IN OUT.npz``: the photo's latent (``w`` [1, num_ws, w_dim], noise maps) and its image OUT.png."""
    import numpy as np
    from tqdm.auto import tqdm

    from .atomic import replace_file
    from .formats.nvidia_pickle import read_discriminator
    from .tasks.images import open_image

    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        return _fail(f"the output must be an .npz file (the projected latent), not {out.name}")
    image = open_image(args.photo)
    generator = _load_task(args.model, "generate", "an image generator", device=args.device)
    discriminator = None
    if args.discriminator:
        discriminator = read_discriminator(Path(args.discriminator)).network().to(generator.device)
    with tqdm(total=args.steps, unit="step", disable=args.quiet, desc="projecting") as bar:

        def progress(done: int, total: int, dist: float) -> None:
            bar.n = done
            bar.set_postfix(distance=f"{dist:.4g}", refresh=False)
            bar.refresh()

        result = generator.project(image, steps=args.steps, space=args.space, distance=args.distance,
                                   discriminator=discriminator, seed=args.seed, progress=progress)
    arrays = {"w": result.ws.numpy(), **{f"noise{i}": n.numpy() for i, n in enumerate(result.noise)},
              "distance": np.array(result.distance), "losses": np.array(result.losses, dtype=np.float32)}
    with replace_file(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    save_atomic(generator.render(result.ws, noise=result.noise), out.with_suffix(".png"))
    print(f"{args.photo} -> {out} and {out.with_suffix('.png').name}: {args.space.upper()}, {args.steps} steps, "
          f"distance {result.distance} {result.losses[-1]:.4g}, {result.seconds_per_step:.3f} s/step")
    return 0


def cmd_inpaint(args: argparse.Namespace) -> int:
    """``zoo inpaint IN MASK OUT``: fill the mask's white pixels; every other pixel of OUT is IN's.

    IN a file or a folder; MASK a file (used for every input) or a folder holding, for each input,
    a mask of the same name (any image suffix); OUT a file, or a folder for a folder of inputs.
    Every mask is found before the model is loaded, and no output may land on a mask.
    """
    from .tasks.images import open_image

    inputs = _inputs([args.image])
    mask_source = Path(args.mask)
    if mask_source.is_dir():
        by_stem: dict[str, Path] = {}
        for f in sorted(mask_source.iterdir()):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                by_stem.setdefault(f.stem, f)
        missing = [src.name for src in inputs if src.stem not in by_stem]
        if missing:
            return _fail(f"no mask in {mask_source} for {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} "
                         "(a mask has its image's name)")
        masks = {src: by_stem[src.stem] for src in inputs}
    elif mask_source.is_file():
        masks = {src: mask_source for src in inputs}
    else:
        return _fail(f"no such mask file or folder: {mask_source}")
    out = Path(args.out)
    for mask in set(masks.values()):
        if _same_file(mask, out) or (out.is_dir() and any(_same_file(mask, out / (mask.stem + s)) for s in IMAGE_SUFFIXES)):
            return _fail(f"the output would overwrite the mask {mask}; choose another output")

    def run(inpainter, image, _progress, src):
        mask = open_image(masks[src], max_megapixels=args.max_megapixels)
        hole = inpainter.hole(mask, image.size, args.dilate)
        if not hole.any():
            print(f"note: the mask {masks[src].name} has no white pixels: nothing to fill in {src.name}", file=sys.stderr)
        return inpainter(image, hole, strategy=args.strategy, margin=args.margin, feather=args.feather,
                         max_megapixels=args.max_megapixels, memory_mb=args.memory_mb)

    args.paths = [args.image, args.out]
    return _image_job(args, "inpaint", "an inpainting network", run, lossless=True)


def _parse_edits(items: list[str] | None) -> dict[str, float]:
    """``["sefa0=2", "smile=-1.5"]`` -> ``{"sefa0": 2.0, "smile": -1.5}``."""
    edits: dict[str, float] = {}
    for item in items or []:
        name, sep, amount = item.partition("=")
        try:
            edits[name.strip()] = float(amount)
        except ValueError:
            raise ZooError(f"--edit takes NAME=AMOUNT (e.g. sefa0=2.5), not {item!r}") from None
        if not sep or not name.strip():
            raise ZooError(f"--edit takes NAME=AMOUNT (e.g. sefa0=2.5), not {item!r}")
    return edits


def _parse_layers(text: str | None) -> tuple[int, int] | None:
    """``"0:8"`` -> ``(0, 8)``: the W+ layers edits apply to (first included, last excluded)."""
    if text is None:
        return None
    first, sep, last = text.partition(":")
    if not sep or not first.strip().isdigit() or not last.strip().isdigit():
        raise ZooError(f"--edit-layers takes FIRST:LAST (e.g. 0:8), not {text!r}")
    return int(first), int(last)


def cmd_serve(args: argparse.Namespace) -> int:
    """The Gradio app of this installation (``zoo.app``), with the operator's choices in the environment."""
    os.environ["GRADIO_SERVER_NAME"] = args.host
    os.environ["GRADIO_SERVER_PORT"] = str(args.port)
    os.environ["ZOO_APP_DOWNLOADS"] = args.downloads
    if util.find_spec("gradio") is None:
        return _fail("the app needs Gradio: pip install 'gan-zoo[app]'")
    from .app.server import main as serve

    serve()
    return 0


# -- parser ------------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from .train import loop
    from .train.recipe import parse_sets

    cls = loop.recipe_class(args.recipe)
    values = {k: v for k, v in (("data", args.data), ("data_b", args.data_b), ("eval_data", args.eval_data),
                                ("steps", args.steps), ("batch", args.batch), ("seed", args.seed)) if v is not None}
    values.update(parse_sets(cls.Options, args.set or []))
    options = loop.options_for(args.recipe, **values)
    if not options.data:
        return _fail("--data is required (a folder, an IDX file or offline:NAME)")
    out = loop.train(args.recipe, options, Path(args.run), device=args.device, progress=not args.quiet,
                     stop_after=args.stop_after)
    if out.exists():
        print(f"exported {out}")
    else:
        print(f"checkpoint saved in {args.run}; run the same command again to continue")
    return 0


def _add_train(sub) -> None:
    from .train import RECIPES

    p = sub.add_parser("train", help="train a model with one of the recipes (resumable; torchrun for several processes)")
    p.add_argument("recipe", choices=RECIPES)
    p.add_argument("run", metavar="RUN", help="run folder: checkpoint, samples, and the export in RUN/model")
    p.add_argument("--data", help="training images: a folder, an IDX file, or offline:NAME")
    p.add_argument("--data-b", help="the second folder (pix2pix: B matched by name; CycleGAN: domain B)")
    p.add_argument("--eval-data", help="held-out images for the card's quality figures")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch", type=int, help="global batch (split over torchrun's processes)")
    p.add_argument("--seed", type=int)
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any recipe option (repeatable)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--stop-after", type=int, default=None, metavar="N", help="stop after N steps of this call (resume later)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)


def _add_image_job_options(p) -> None:
    """The options every image-in, image-out command shares (``_image_job``)."""
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default=None, choices=["float32", "float16", "bfloat16"])
    p.add_argument("--max-megapixels", type=float, default=None, help="refuse larger inputs (default 16, or $ZOO_MAX_MEGAPIXELS)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_upscale(sub) -> None:
    p = sub.add_parser("upscale", help="upscale images (ESRGAN family)", description="zoo upscale IN... OUT: IN is a file, a folder or several files; OUT a file or folder.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="inputs, then the output")
    p.add_argument("--model", default=None, help=f"registry name, official file, converted folder or hf:ORG/NAME (default {DEFAULT_UPSCALER}, or a bundled demo model when it is not here)")
    p.add_argument("--tile", type=int, default=None,
                   help="tile size in input pixels; 0 = one pass (default: the fewest tiles that fit --memory-mb)")
    p.add_argument("--memory-mb", type=float, default=None,
                   help="activation memory a tile may use (default $ZOO_TILE_MEMORY_MB, else 1024): one pass when the image fits")
    p.add_argument("--overlap", type=int, default=None, help="context pixels around each tile (default: per model)")
    p.add_argument("--outscale", type=float, default=None, help="final scale factor (default: the model's)")
    p.add_argument("--alpha", choices=["model", "resize"], default="model", help="how to upscale an alpha channel")
    p.add_argument("--interpolate", type=float, default=None, metavar="A", help="blend A (0..1) of the model's interpolation partner")
    p.add_argument("--partner", default=None, help="model to interpolate with (default: the registry's partner)")
    _add_image_job_options(p)
    p.set_defaults(func=cmd_upscale)


def _add_translate(sub) -> None:
    p = sub.add_parser("translate", help="translate images (pix2pix, CycleGAN)",
                       description="zoo translate IN... OUT: IN is a file, a folder or several files; OUT a file or folder.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="inputs, then the output")
    p.add_argument("--model", default=None, help=f"registry name (NAME@BtoA for the other direction), official file, converted folder or hf:ORG/NAME (default {DEFAULT_TRANSLATOR}, or a bundled demo model when it is not here)")
    p.add_argument("--direction", default=None, help="AtoB or BtoA, or the official name (e.g. zebra2horse); default: the model's first")
    p.add_argument("--size", choices=["auto", "trained", "native"], default="auto",
                   help="trained: resize so the short side is the training resolution (256), translate, resize back; native: the image's own size (tiled when large); auto: trained for U-Nets, native for ResNets")
    p.add_argument("--tile", type=int, default=None,
                   help="native size: tile size in input pixels, 0 = one pass (default: the fewest tiles that fit --memory-mb)")
    p.add_argument("--memory-mb", type=float, default=None,
                   help="native size: activation memory a pass may use (default $ZOO_TILE_MEMORY_MB, else 1024): one pass when the image fits")
    p.add_argument("--overlap", type=int, default=None, help="native size: context pixels around each tile (default 64)")
    p.add_argument("--test-mode", choices=["official", "eval"], default=None, help="norm statistics at test time (default: the model's)")
    _add_image_job_options(p)
    p.set_defaults(func=cmd_translate)


def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="generate images from seeds (StyleGAN2)",
                       description="zoo generate OUT: one image per seed; OUT is a file for one seed, else a folder (seedNNNN.png).")
    p.add_argument("out", metavar="OUT")
    p.add_argument("--model", default=None, help=f"registry name, official file (.pkl, .pt), converted folder or hf:ORG/NAME (default {DEFAULT_GENERATOR}, or a bundled demo model when it is not here)")
    p.add_argument("--seed", dest="seeds", type=int, nargs="+", default=[0], metavar="S", help="seeds (NVIDIA's: numpy RandomState(S)); default 0")
    p.add_argument("--psi", type=float, default=1.0, help="truncation psi toward the mean W (1 = none; -1..2)")
    p.add_argument("--cutoff", type=int, default=None, help="truncate only the first N layers")
    p.add_argument("--noise-mode", choices=["const", "none", "random"], default="const")
    p.add_argument("--class", dest="class_index", type=int, default=None, help="class index for a conditional model")
    p.add_argument("--mix-seed", type=int, default=None, help="style mixing: the seed whose W the later layers take")
    p.add_argument("--mix-layer", type=int, default=None, help="style mixing: the first layer taken from --mix-seed")
    p.add_argument("--edit", action="append", metavar="K=AMOUNT",
                   help="move along a latent direction: sefa0..sefa15, ganspace0..ganspace15 (in std units), or a --direction-file name")
    p.add_argument("--edit-layers", default=None, metavar="FIRST:LAST", help="W+ layers the edits apply to (default all)")
    p.add_argument("--direction-file", action="append", metavar="F.npy", help="named direction (InterFaceGAN .npy, [1, w_dim]); its name is the stem")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default=None, choices=["float32", "float16", "bfloat16"],
                   help="compute dtype of the synthesis network (float32 weights under autocast; the mapping stays float32)")
    p.set_defaults(func=cmd_generate)


def _add_project(sub) -> None:
    p = sub.add_parser("project", help="project a photo into a StyleGAN2 latent (W or W+)",
                       description="zoo project IN OUT.npz: the official projector's schedule; writes the latent and OUT.png.")
    p.add_argument("photo", metavar="IN")
    p.add_argument("out", metavar="OUT.npz")
    p.add_argument("--model", default=None, help=f"StyleGAN2 model (default {DEFAULT_GENERATOR}, or a bundled demo model when it is not here)")
    p.add_argument("--steps", type=int, default=1000, help="optimisation steps (default 1000, as the official projector)")
    p.add_argument("--space", choices=["w", "w+"], default="w", help="one W for every layer, or one per layer")
    p.add_argument("--distance", choices=PROJECT_DISTANCES, default="auto",
                   help="image distance: lpips (LPIPS-VGG, once lpips-vgg16 is imported, as the official projector), "
                        "discriminator (the model's own D features + pixel MSE), mse (pixels); auto: the first that is here")
    p.add_argument("--discriminator", default=None, metavar="PKL",
                   help="an NVIDIA .pkl to take the discriminator D from (default: the one kept beside the model, if any)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise maps' start and the latent noise")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--device", default="cpu", help="cpu or cuda (the optimisation runs in float32)")
    p.set_defaults(func=cmd_project)


def _add_inpaint(sub) -> None:
    p = sub.add_parser("inpaint", help="fill the holes of a mask (DeepFill v2)",
                       description="zoo inpaint IN MASK OUT: MASK is white where to fill (L, 1-bit, or an RGBA brush layer's alpha); "
                                   "IN and MASK may be folders (masks matched by name), OUT then a folder.")
    p.add_argument("image", metavar="IN")
    p.add_argument("mask", metavar="MASK")
    p.add_argument("out", metavar="OUT")
    p.add_argument("--model", default=None, help=f"registry name, official file, converted folder or hf:ORG/NAME (default {DEFAULT_INPAINTER}, or a bundled demo model when it is not here)")
    p.add_argument("--dilate", type=int, default=0, metavar="PX", help="grow the hole by PX pixels first (default 0)")
    p.add_argument("--strategy", choices=["auto", "native", "windows"], default="auto",
                   help="native: the whole image at once; windows: a context window per hole, scaled to the trained size; "
                        "auto: native up to 512 px when it fits --memory-mb, else windows")
    p.add_argument("--memory-mb", type=float, default=None,
                   help="auto: the whole image runs in one pass only when it fits this much activation memory "
                        "(default $ZOO_TILE_MEMORY_MB, else 1024)")
    p.add_argument("--margin", type=int, default=128, metavar="PX", help="context around each hole for windows (default 128)")
    p.add_argument("--feather", type=int, default=0, metavar="PX", help="blend the fill into the hole's outer PX pixels (default 0)")
    _add_image_job_options(p)
    p.set_defaults(func=cmd_inpaint)


TASK_COMMANDS = (_add_upscale, _add_translate, _add_generate, _add_project, _add_inpaint)  # one per command of a task


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="gan-zoo: official GAN checkpoints, safely loaded, with image tasks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list the registry")
    p.add_argument("--task", choices=task_names())
    p.add_argument("--family", choices=family_names())
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="show one registry entry, its sources and cache state")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("download", help="fetch and convert weights into the cache")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true", help="every registry entry")
    p.add_argument("--force", action="store_true", help="fetch again even if cached")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("import", help="convert an official checkpoint file (.pth/.pt/.safetensors/ncnn .param)")
    p.add_argument("checkpoint")
    p.add_argument("--name", help="registry name (checked against its digests, lands in its cache) or a label")
    p.add_argument("--out", help="output folder (default: the cache for registry names, else ./NAME)")
    p.add_argument("--config", help="JSON object of official constructor kwargs the weights cannot reveal")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("push", help="publish a converted folder to the Hugging Face Hub")
    p.add_argument("name_or_dir", metavar="NAME_OR_DIR")
    p.add_argument("--repo", required=True, metavar="ORG/NAME")
    p.add_argument("--revision", default=None, help="branch to commit to (default: main)")
    p.add_argument("--private", action="store_true")
    p.add_argument("--token", default=None, help="Hub token (default: the saved login / HF_TOKEN)")
    p.set_defaults(func=cmd_push)

    for add_command in TASK_COMMANDS:
        add_command(sub)

    _add_train(sub)

    p = sub.add_parser("serve", help="start the Gradio app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--downloads", choices=("off", "on", "auto"), default=os.environ.get("ZOO_APP_DOWNLOADS") or "off",
                   help="whether visitors may make this server download models: off (default), on, or auto (on when the "
                        "Hub answers)")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ZooError as exc:
        return _fail(str(exc))
    except (ValueError, json.JSONDecodeError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:  # the reader went away (`zoo list | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
