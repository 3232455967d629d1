"""DeepFill v2: the readers of both layouts, the manifests, and the inpaint task, CLI and tab."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from conftest import PARITY
from zoo import cli
from zoo.archs import build
from zoo.errors import CheckpointError, ImageError, ZooError
from zoo.formats import deepfill as fmt

CASES = PARITY / "deepfill"
TF, PT = CASES / "tf_c16_64x64", CASES / "pt_c16_64x64"


def checkpoint(case: Path) -> dict:
    return torch.load(case / "checkpoint.pth", weights_only=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    from zoo import importing

    out = tmp_path_factory.mktemp("deepfill") / "tiny-deepfill"
    importing.import_file(TF / "checkpoint.pth", out=out)
    return out


def test_both_layouts_are_told_apart_and_d_is_kept():
    tf, pt = fmt.convert(checkpoint(TF)), fmt.convert(checkpoint(PT))
    assert tf.arch_kwargs == {"cnum": 16, "cnum_in": 5, "layout": "tf"} and pt.arch_kwargs["layout"] == "pt"
    assert list(pt.state_dict) == list(tf.state_dict)  # the pt names land on the tf names, in order
    for converted in (tf, pt):
        d = converted.companions["discriminator"]
        assert d.arch == "deepfillv2_d" and d.arch_kwargs["layout"] == converted.arch_kwargs["layout"]
        build(d.arch, d.arch_kwargs).load_state_dict(d.state_dict)
    assert fmt.convert(checkpoint(TF)["G"]).arch_kwargs["layout"] == "tf"  # a bare generator state dict


def test_the_pt_rename_table_is_the_manifest_map():
    manifest = json.loads((CASES / "manifests" / "generator_key_map_tf_to_pt.json").read_text())["map"]
    renamed = fmt.rename_keys({pt: None for pt in manifest.values()}, fmt.PT_RULES, "pt")
    assert list(renamed) == list(manifest)


def test_fuse_weight_training_state_and_foreign_keys():
    ck = checkpoint(PT)
    assert fmt.FUSE_KEY in ck["G"]
    bad = {**ck, "G": {**ck["G"], fmt.FUSE_KEY: torch.ones(1, 1, 3, 3)}}
    with pytest.raises(CheckpointError, match="not the 3x3 identity"):
        fmt.convert(bad)
    without = {**ck, "G": {k: v for k, v in ck["G"].items() if k != fmt.FUSE_KEY}, "n_iter": 5, "G_optim": {}}
    notes = fmt.convert(without).notes
    assert any("fuse_weight" in n for n in notes) and any("training state (G_optim, n_iter)" in n for n in notes)
    with pytest.raises(CheckpointError, match="unexpected top-level keys"):
        fmt.convert({**ck, "payload": 1})


@pytest.mark.parametrize("manifest", sorted((CASES / "manifests").glob("states_*.json")), ids=lambda p: p.stem)
def test_manifests_match_keys_order_and_shapes(manifest):
    data = json.loads(manifest.read_text())
    layout = "pt" if "_pt_" in manifest.name else "tf"
    meta = {part: {k: torch.empty(v, device="meta") for k, v in sd.items()} for part, sd in data["state_dict"].items()}
    converted = fmt.convert(meta)
    assert converted.arch_kwargs == {"cnum": 48, "cnum_in": 5, "layout": layout}
    g = build("deepfillv2", converted.arch_kwargs, meta=True).state_dict()
    assert [(k, list(v.shape)) for k, v in g.items()] == [(k, list(v.shape)) for k, v in converted.state_dict.items()]
    d = converted.companions["discriminator"]
    want = build("deepfillv2_d", d.arch_kwargs, meta=True).state_dict()
    assert [(k, list(v.shape)) for k, v in want.items()] == [(k, v) for k, v in data["state_dict"]["D"].items()]
    assert sum(v.numel() for v in g.values()) == 4_052_478


def photo(w: int, h: int, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(3)
    base = np.clip(np.add.outer(np.linspace(0, 200, h), np.linspace(0, 55, w))[..., None] + rng.integers(0, 40, (h, w, 3)), 0, 255)
    image = Image.fromarray(base.astype(np.uint8), "RGB")
    if mode == "RGBA":
        image.putalpha(Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)))
    return image.convert(mode) if mode == "L" else image


def holes(w: int, h: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[5:15, 8:20] = True
    m[h - 20 : h - 6, w - 25 : w - 10] = True
    return m


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_only_the_hole_changes_at_any_size(folder, mode):
    task = zoo.load(folder)
    image = photo(70, 50, mode)  # not multiples of 8
    hole = holes(70, 50)
    out = task(image, hole)
    assert out.size == image.size and out.mode == image.mode
    a, b = np.asarray(image), np.asarray(out)
    assert np.array_equal(a[~hole], b[~hole]), "pixels outside the hole are the input's, bit for bit"
    assert not np.array_equal(a[hole], b[hole])
    if mode == "RGBA":
        assert np.array_equal(a[..., 3], b[..., 3])


def test_the_task_reproduces_the_reference_composite(folder):
    from safetensors.torch import load_file

    io = load_file(str(TF / "io.safetensors"))
    task = zoo.load(folder)
    image = Image.fromarray(io["image_u8"][0].permute(1, 2, 0).numpy())
    out = np.asarray(task(image, io["mask"][0, 0].numpy() > 0.5)).astype(int)
    assert np.abs(out - io["inpainted_u8"][0].numpy().astype(int)).max() <= 1


def test_masks_of_every_kind(folder):
    task = zoo.load(folder)
    image = photo(64, 48)
    hole = holes(64, 48)
    as_l = Image.fromarray(hole.astype(np.uint8) * 255, "L")
    brush = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    brush.putalpha(as_l)
    results = [np.asarray(task(image, m)) for m in (hole, hole.astype(np.uint8), as_l, as_l.convert("1"), brush)]
    assert all(np.array_equal(results[0], r) for r in results[1:])
    grown = np.asarray(task(image, hole, dilation=3))
    assert not np.array_equal(grown, results[0])
    with pytest.raises(ImageError, match="the mask is 20x20 but the image is 64x48"):
        task(image, as_l.resize((20, 20)))
    with pytest.raises(ImageError, match="only 0 and 1"):
        task(image, hole.astype(np.uint8) * 7)
    with pytest.raises(ImageError, match="covers the whole image"):
        task(image, np.ones((48, 64), dtype=bool))
    empty = np.zeros((48, 64), dtype=bool)
    assert not task.hole(empty, image.size).any() and np.array_equal(np.asarray(task(image, empty)), np.asarray(image))


def test_cli_inpaint_and_its_bad_input(folder, tmp_path, capsys):
    image, hole = photo(64, 48), holes(64, 48)
    image.save(tmp_path / "in.png")
    Image.fromarray(hole.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    Image.new("L", (10, 10)).save(tmp_path / "small.png")
    Image.new("L", (64, 48)).save(tmp_path / "empty.png")
    assert cli.main(["inpaint", str(tmp_path / "in.png"), str(tmp_path / "mask.png"), str(tmp_path / "out.png"), "--model", str(folder)]) == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert np.array_equal(out[~hole], np.asarray(image)[~hole])
    capsys.readouterr()
    for args, message in [(["small.png", "bad.png"], "the mask is 10x10 but the image is 64x48"),
                          (["mask.png", "in.png"], "would overwrite the input"), (["mask.png", "out.xyz"], "cannot tell the image format")]:
        code = cli.main(["inpaint", str(tmp_path / "in.png"), *[str(tmp_path / a) for a in args], "--model", str(folder)])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1 and message in err
    assert not (tmp_path / "bad.png").exists() and not (tmp_path / "out.xyz").exists()
    assert cli.main(["inpaint", str(tmp_path / "in.png"), str(tmp_path / "empty.png"), str(tmp_path / "same.png"), "--model", str(folder)]) == 0
    assert "nothing to fill" in capsys.readouterr().err
    assert np.array_equal(np.asarray(Image.open(tmp_path / "same.png")), np.asarray(image))


def test_the_tab_takes_the_brush_layer_at_the_uploaded_size(folder, monkeypatch):
    pytest.importorskip("gradio")
    from zoo.app import inpaint as tab

    monkeypatch.setattr(tab, "load_model", lambda run, info: zoo.load(folder))  # the tab runs the tiny test network
    image, hole = photo(64, 48), holes(64, 48)
    shown = image.resize((32, 24))  # the editor's rescaled copy
    layer = Image.new("RGBA", (32, 24), (0, 0, 0, 0))
    layer.paste((255, 255, 255, 255), (4, 2, 10, 8))
    mask = tab.editor_mask({"background": shown, "layers": [layer]}, image.size)
    assert mask.size == (64, 48) and np.asarray(mask)[4:16, 8:20].all() and np.asarray(mask).sum() == 255 * 12 * 12
    out = Image.open(tab.inpaint_from_editor({"background": shown, "layers": [layer]}, None, "deepfill-nature", 0, image))
    assert out.size == image.size
    direct = Image.open(tab.inpaint(image, Image.fromarray(hole.astype(np.uint8) * 255), "deepfill-nature"))
    assert np.array_equal(np.asarray(direct)[~hole], np.asarray(image)[~hole])


# -- large images: context windows, strategies, feathering, folders ----------------------------------


def test_windows_grow_shift_inward_and_merge():
    from zoo.tasks.windows import Box, hole_windows

    hole = np.zeros((300, 400), dtype=bool)
    hole[10:20, 10:30] = True  # near the top-left corner: shifted inward, not clipped
    hole[100:110, 200:210] = True
    hole[100:110, 240:250] = True  # 30 px from the previous one: their windows merge
    hole[280:290, 380:395] = True
    boxes = hole_windows(hole, margin=40)
    assert boxes[0] == Box(0, 0, 90, 100)  # 10 + 2 * 40 rows, 20 + 2 * 40 columns, moved inside
    assert Box(60, 160, 150, 290) in boxes and len(boxes) == 3
    assert all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    covered = np.zeros_like(hole)
    for box in boxes:
        covered[box.slices] = True
        assert box.height == min(300, box.height) and box.bottom <= 300 and box.right <= 400
    assert covered[hole].all()
    assert hole_windows(np.ones((50, 60), dtype=bool), margin=40) == [Box(0, 0, 50, 60)]  # clipped only when too large


@pytest.fixture(scope="module")
def large_photo() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((760, 620), Image.LANCZOS)  # a real photo, larger than 512 px


def several_holes(w: int, h: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    for top, left, size in ((60, 80, 40), (300, 400, 70), (500, 150, 30), (560, 690, 50)):
        m[top : top + size, left : left + size] = True
    return m


def test_a_large_photo_with_several_holes_changes_only_inside_them(folder, large_photo, tmp_path):
    task = zoo.load(folder)
    hole = several_holes(*large_photo.size)
    out = task(large_photo, hole)  # auto: windows (the longer side is over 512)
    a, b = np.asarray(large_photo), np.asarray(out)
    assert np.array_equal(a[~hole], b[~hole]) and not np.array_equal(a[hole], b[hole])
    native = np.asarray(task(large_photo, hole, strategy="native"))
    assert np.array_equal(native[~hole], a[~hole]) and not np.array_equal(native[hole], b[hole])  # another route
    out.save(tmp_path / "out.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png"))[~hole], a[~hole])  # the PNG round trip too
    with pytest.raises(ZooError, match="strategy must be one of"):
        task(large_photo, hole, strategy="tiles")


def test_feathering_blends_only_inside_the_hole(folder):
    from zoo.tasks.inpaint import feather_weights

    hole = np.zeros((20, 20), dtype=bool)
    hole[5:15, 5:15] = True
    w = feather_weights(hole, 3)
    assert w[~hole].max() == 0 and w[10, 10] == 1 and w[5, 10] == pytest.approx(0.25) and w[6, 10] == pytest.approx(0.5)
    task = zoo.load(folder)
    image, big = photo(64, 48), holes(64, 48)
    hard, soft = np.asarray(task(image, big)), np.asarray(task(image, big, feather=4))
    assert np.array_equal(soft[~big], np.asarray(image)[~big]) and not np.array_equal(hard, soft)


def test_cli_inpaints_a_folder_with_masks_matched_by_name(folder, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "masks").mkdir()
    for i, (w, h) in enumerate(((64, 48), (72, 56))):
        photo(w, h).save(tmp_path / "in" / f"p{i}.jpg", quality=90)
        Image.fromarray(holes(w, h).astype(np.uint8) * 255).save(tmp_path / "masks" / f"p{i}.png")
    assert cli.main(["inpaint", str(tmp_path / "in"), str(tmp_path / "masks"), str(tmp_path / "out"), "--model", str(folder), "--quiet"]) == 0
    for i in range(2):
        src = np.asarray(Image.open(tmp_path / "in" / f"p{i}.jpg"))
        got = np.asarray(Image.open(tmp_path / "out" / f"p{i}.png"))  # PNG: a JPEG would re-encode every pixel
        hole = np.asarray(Image.open(tmp_path / "masks" / f"p{i}.png")) > 127
        assert np.array_equal(got[~hole], src[~hole])
    capsys.readouterr()
    (tmp_path / "masks" / "p1.png").unlink()
    for args, message in [([str(tmp_path / "in"), str(tmp_path / "masks"), str(tmp_path / "out2")], "no mask in"),
                          ([str(tmp_path / "in" / "p0.jpg"), str(tmp_path / "masks" / "p0.png"), str(tmp_path / "o.jpg")], "lossily"),
                          ([str(tmp_path / "in" / "p0.jpg"), str(tmp_path / "masks" / "p0.png"), str(tmp_path / "masks")], "overwrite the mask")]:
        assert cli.main(["inpaint", *args, "--model", str(folder)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out2").exists() and not (tmp_path / "o.jpg").exists()


def test_the_tab_example_is_a_photo_and_its_mask(folder, monkeypatch):
    pytest.importorskip("gradio")
    from zoo.app import inpaint as tab

    monkeypatch.setattr(tab, "load_model", lambda run, info: zoo.load(folder))  # the tab runs the tiny test network
    for photo_name, mask_name in tab.EXAMPLES:
        image, mask = Image.open(tab.EXAMPLES_DIR / photo_name), Image.open(tab.EXAMPLES_DIR / mask_name)
        hole = np.asarray(mask.convert("L")) > 127
        assert image.size == mask.size and 0.01 < hole.mean() < 0.3
        out = Image.open(tab.inpaint_from_editor({"background": image, "layers": []}, mask, "deepfill-nature", 0, None))
        assert np.array_equal(np.asarray(out)[~hole], np.asarray(image.convert("RGB"))[~hole])


def test_native_is_refused_before_its_attention_outgrows_memory(folder):
    task = zoo.load(folder)
    image = Image.new("RGB", (1600, 1600), (90, 120, 150))
    hole = np.zeros((1600, 1600), dtype=bool)
    hole[700:760, 700:760] = True
    with pytest.raises(ImageError, match=r"1600x1600 in one pass needs about 21 GB .* use the windows strategy"):
        task(image, hole, strategy="native")
    out = np.asarray(task(image, hole))  # auto: windows
    assert np.array_equal(out[~hole], np.asarray(image)[~hole])


def test_cli_refuses_non_images_and_models_of_other_tasks(folder, tmp_path, capsys):
    from conftest import PARITY as parity

    photo(64, 48).save(tmp_path / "in.png")
    Image.fromarray(holes(64, 48).astype(np.uint8) * 255).save(tmp_path / "mask.png")
    (tmp_path / "notes.png").write_text("not an image")
    rrdb = next((parity / "esrgan").rglob("*.pth"))
    cases = [([str(tmp_path / "notes.png"), str(tmp_path / "mask.png")], str(folder), "notes.png"),
             ([str(tmp_path / "in.png"), str(tmp_path / "notes.png")], str(folder), "notes.png"),
             ([str(tmp_path / "in.png"), str(tmp_path / "mask.png")], str(rrdb), "not an inpainting network")]
    for inputs, model, message in cases:
        code = cli.main(["inpaint", *inputs, str(tmp_path / "out.png"), "--model", model])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out.png").exists()


def test_the_tab_keeps_the_upload_only_while_it_is_the_picture_shown():
    pytest.importorskip("gradio")
    from zoo.app import inpaint as tab

    upload = photo(640, 480)
    shown = upload.resize((320, 240))  # the editor's rescaled copy of it
    assert tab.keep_original({"background": upload}) is upload
    assert tab.keep_original({"background": shown}, upload) is upload  # strokes on the rescaled copy
    other = photo(320, 240).transpose(Image.FLIP_LEFT_RIGHT)  # an example or a new picture
    assert tab.keep_original({"background": other}, upload) is other
    assert tab.keep_original({"background": None}, upload) is None
