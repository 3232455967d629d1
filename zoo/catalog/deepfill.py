"""Registry entries of the DeepFill v2 family: nipponjo/deepfillv2-pytorch's four released files.

``deepfill-places2`` / ``deepfill-celebahq`` are the official TensorFlow DeepFill v2 weights
(JiahuiYu/generative_inpainting v2.0.0) converted by the port (``tf`` layout); the ``-pt``
entries are the port author's fine-tuning of them in its PyTorch layout. The files live on Google
Drive, which offers no stable direct download: manual sources (``zoo download`` says what to fetch,
``zoo import FILE --name NAME`` converts it). No checksum is published: the first import is
pinned. Licence: CC BY-NC 4.0, the upstream weights' (non-commercial). Both were trained at
256x256 (Places2: 256 px crops; CelebA-HQ: faces resized to 256).
"""

from __future__ import annotations

from ..registry import ManualSource, ModelInfo, register
from ..tasks.options import InpaintOptions
from .bundled import bundled_entry

DRIVE = "https://drive.google.com/file/d/{}/view"
PAPER = "https://arxiv.org/abs/1806.03589"
HOMEPAGE = "https://github.com/nipponjo/deepfillv2-pytorch"
LICENCE = "CC-BY-NC-4.0"

# name, file, Google Drive id, layout, dataset, title
TABLE = (
    ("deepfill-places2", "states_tf_places2.pth", "1tvdQRmkphJK7FYveNAKSMWC6K09hJoyt", "tf", "Places2",
     "DeepFill v2 Places2 (official weights)"),
    ("deepfill-celebahq", "states_tf_celebahq.pth", "1fTQVSKWwWcKYnmeemxKWImhVtFQpESmm", "tf", "CelebA-HQ",
     "DeepFill v2 CelebA-HQ faces (official weights)"),
    ("deepfill-places2-pt", "states_pt_places2.pth", "1L63oBNVgz7xSb_3hGbUdkYW1IuRgMkCa", "pt", "Places2",
     "DeepFill v2 Places2 (nipponjo's PyTorch fine-tuning)"),
    ("deepfill-celebahq-pt", "states_pt_celebahq.pth", "17oJ1dJ9O3hkl2pnl8l2PtNVf2WhSDtB7", "pt", "CelebA-HQ",
     "DeepFill v2 CelebA-HQ faces (nipponjo's PyTorch fine-tuning)"),
)

ENTRIES = [
    register(ModelInfo(
        name=name, family="deepfill", task="inpaint", title=title,
        description=f"Free-form inpainting trained on {dataset}, 256x256 ({layout} layout of nipponjo/deepfillv2-pytorch).",
        licence=LICENCE, sources=(ManualSource(url=DRIVE.format(drive_id), filename=file),), card=f"{name}.md", paper=PAPER,
        homepage=HOMEPAGE, arch="deepfillv2", arch_kwargs={"cnum": 48, "cnum_in": 5, "layout": layout},
        tags=("faces",) if dataset == "CelebA-HQ" else ("scenes",), options=InpaintOptions(trained_size=256, dataset=dataset),
    ))
    for name, file, drive_id, layout, dataset, title in TABLE
]

# Trained by gan-zoo (zoo train deepfill --data offline:mate-nature ...), pt layout, cnum 24.
NATURE = register(bundled_entry(
    "deepfill-nature", family="deepfill", task="inpaint", title="DeepFill v2 nature photos (demo, bundled)",
    description="Free-form inpainting (a small DeepFill v2 trained here on 23 photos at 128 px: demo quality).",
    licence="GPL-2.0-or-later", arch="deepfillv2", paper=PAPER, tags=("scenes",),
    arch_kwargs={"cnum": 24, "cnum_in": 5, "layout": "pt"},
    options=InpaintOptions(trained_size=128, dataset="photos of mate-backgrounds and plasma-workspace-wallpapers"),
    sha256="83197632aa6e219c2092c435f93caba8eea4d03cfab99331cbb02ce452193306",
))
