"""Publishing converted folders to the Hugging Face Hub (``zoo push``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import converted, download, weights
from .errors import DownloadError, OfflineError, ZooError

PUSHED_FILES = [converted.WEIGHTS_FILE, converted.CONFIG_FILE, converted.CARD_FILE]


@dataclass
class PushResult:
    repo_id: str
    commit: str
    url: str


def folder_to_push(name_or_dir: str) -> Path:
    """The converted folder for a registry name (downloaded/converted if needed) or a folder path."""
    path = Path(name_or_dir)
    if path.is_dir():
        if not converted.is_converted_folder(path):
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
    converted.check_folder(folder)  # refuse to publish a broken folder (config, header, weights digest)
    from huggingface_hub import HfApi

    api = HfApi(endpoint=download.hub_endpoint(), token=token)
    try:
        with download.quiet_hub():
            api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=str(folder),
                revision=revision,
                allow_patterns=PUSHED_FILES,
                commit_message=message or f"Upload {folder.name} with gan-zoo",
            )
    except Exception as exc:
        error = push_error(exc, repo_id)
        if error is None:
            raise
        raise error from None
    return PushResult(repo_id=repo_id, commit=info.oid, url=info.commit_url)


def push_error(exc: Exception, repo_id: str) -> ZooError | None:
    """The one-line gan-zoo error for what huggingface_hub raised during a push (None: not ours to map)."""
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalTokenNotFoundError

    httpx = download.httpx_module()
    where = download.hub_endpoint() or constants.ENDPOINT
    reason = download.one_line(str(exc).split("\n")[0]) or type(exc).__name__
    if isinstance(exc, ZooError):
        return exc
    if isinstance(exc, LocalTokenNotFoundError):
        return ZooError(f"no Hugging Face token to push {repo_id}: pass --token or run `hf auth login`")
    if isinstance(exc, HFValidationError):
        return ZooError(f"bad Hub repo id {repo_id!r} ({reason})")
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return DownloadError(f"cannot reach the Hub at {where} to push {repo_id} ({reason})")
    if isinstance(exc, HfHubHTTPError):
        status = getattr(exc.response, "status_code", None)
        hint = "; check the token (--token or `hf auth login`)" if status in (401, 403) else ""
        return DownloadError(f"push to {repo_id} failed ({download.http_reason(exc)}){hint}")
    if isinstance(exc, httpx.HTTPError):
        return DownloadError(f"push to {repo_id} was interrupted ({reason})")
    if isinstance(exc, OSError):
        return DownloadError(f"push to {repo_id} failed ({reason})")
    return None
