"""Publishing converted folders to the Hugging Face Hub (``zoo push``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import download, weights
from .errors import DownloadError, OfflineError, ZooError

PUSHED_FILES = [weights.WEIGHTS_FILE, weights.CONFIG_FILE, weights.CARD_FILE]


@dataclass
class PushResult:
    repo_id: str
    commit: str
    url: str


def folder_to_push(name_or_dir: str) -> Path:
    """The converted folder for a registry name (downloaded/converted if needed) or a folder path."""
    path = Path(name_or_dir)
    if path.is_dir():
        if not weights.is_converted_folder(path):
            raise ZooError(f"{path} is not a converted folder (model.safetensors + config.json); run `zoo import` first")
        return path
    from .registry import get

    return weights.resolve(get(name_or_dir))


def push(name_or_dir: str, repo_id: str, *, revision: str | None = None, private: bool = False, token: str | None = None,
         message: str | None = None) -> PushResult:
    """Upload a converted folder (weights, config, card) to ``repo_id``; returns the new commit."""
    if download.is_offline():
        raise OfflineError("offline (HF_HUB_OFFLINE/ZOO_OFFLINE set); cannot push to the Hub")
    folder = folder_to_push(name_or_dir)
    weights.read_config(folder)  # refuse to publish a broken folder
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=download.hub_endpoint(), token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            revision=revision,
            allow_patterns=PUSHED_FILES,
            commit_message=message or f"Upload {folder.name} with gan-zoo",
        )
    except HfHubHTTPError as exc:
        raise DownloadError(f"push to {repo_id} failed ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise DownloadError(f"cannot reach the Hub to push {repo_id} ({exc})") from None
    return PushResult(repo_id=repo_id, commit=info.oid, url=info.commit_url)
