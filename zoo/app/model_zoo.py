"""The **Model zoo** tab: every registry entry, its model card and sources, and (where the server's
operator allows downloads, ``settings.downloads_allowed``) a Download button.

Events for gradio_client: ``/model_info`` (name) -> (card Markdown, sources Markdown); only when
downloads are allowed, ``/download_model`` (name) -> a one-line status. With downloads off (the
default, and any public Space) no endpoint of the app downloads or writes weights.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

import zoo
from zoo.errors import ZooError
from zoo.registry import ModelInfo

from . import messages, settings
from .common import available_offline, card_markdown, user_errors, where_weights

LABEL = "Model zoo"  # the tab's title

COLUMNS = ["name", "task", "family", "scale", "licence", "offline", "first source"]
COLUMN_WIDTHS = ["22%", "8%", "9%", "6%", "17%", "7%", "31%"]


def table_rows() -> list[list[Any]]:
    """One row per registry entry (all tasks), in registry order."""
    rows = []
    for info in zoo.list_models():
        first = info.sources[0].describe() if info.sources else "(none)"
        scale = f"x{info.summary()['scale']}" if info.summary().get("scale") else ""
        rows.append([info.name, info.task, info.family, scale, info.licence, "yes" if available_offline(info) else "no", first])
    return rows


def sources_markdown(info: ModelInfo) -> str:
    """The entry's weight sources, in the order gan-zoo tries them, with its offline status."""
    lines = [f"### Sources of `{info.name}`", "", "Tried in this order:", ""]
    groups = [(f"**{d.name}** ({d.official_name or d.label()}): {d.label()}", d.sources) for d in info.directions] or [("", info.sources)]
    for heading, sources in groups:
        if heading:
            lines += [heading, ""]
        for i, source in enumerate(sources, start=1):
            lines.append(f"{i}. {source.describe()}")
        if not sources:
            lines.append("(no sources registered)")
        lines.append("")
    status = {"here": "on this server (cached, bundled or packaged)",
              "download": "not on this server yet: Download fetches it",
              "missing": "not on this server, and this server does not download models"}[where_weights(info)]
    lines += [f"Status: **{status}**."]
    return "\n".join(lines)


def model_info(name: str) -> tuple[str, str]:
    """(model card without front matter, sources) of registry entry ``name``."""
    if not name:
        return "", ""
    with user_errors():
        info = zoo.info(name)
    return card_markdown(info), sources_markdown(info)


def download(name: str) -> str:
    """Fetch ``name``'s weights (``zoo.weights.download_model``); a one-line success or error."""
    from zoo import weights

    if not name:
        return "Choose a model first."
    try:
        info = zoo.info(name)
    except ZooError as exc:
        return f"Download failed: {messages.for_people(exc)}"
    if not settings.downloads_allowed():  # the button is not there then; a direct call is refused too
        return "Download failed: this server does not download models."
    try:
        weights.download_model(info)
    except ZooError as exc:
        return f"Download failed: {messages.for_people(exc)}"
    return f"Downloaded {info.title}: it now works on this server."


def on_select(evt: gr.SelectData) -> Any:
    """Clicking a table cell chooses that row's model."""
    row = evt.row_value if isinstance(evt.row_value, list) else None
    if row:
        return gr.update(value=row[0])
    return gr.update()


def build_tab() -> gr.Tab:
    """The Model zoo tab; call inside a ``gr.Blocks`` context."""
    names = [m.name for m in zoo.list_models()]
    first = names[0] if names else None
    card, sources = model_info(first) if first else ("", "")

    downloads = settings.downloads_allowed()
    with gr.Tab(LABEL, id="model-zoo") as tab:
        what = ("**Download** fetches a model's weights into this server's cache." if downloads else
                "This server does not download models: the ones marked *offline* are the ones it has.")
        gr.Markdown(f"Every model gan-zoo knows. Click a row (or pick a name) to read its card. {what}")
        table = gr.Dataframe(value=table_rows(), headers=COLUMNS, interactive=False, wrap=False, column_widths=COLUMN_WIDTHS,
                             label="Registry", elem_id="model-zoo-table", max_height=420)
        with gr.Row():
            name = gr.Dropdown(choices=names, value=first, label="Model", interactive=True, scale=3)
            fetch = gr.Button("Download", scale=1, visible=downloads)
        status = gr.Markdown()
        with gr.Row():
            with gr.Column(scale=3):
                card_md = gr.Markdown(card, label="Model card")
            with gr.Column(scale=2):
                sources_md = gr.Markdown(sources, label="Sources")

        table.select(on_select, inputs=None, outputs=name, api_visibility="private")
        name.change(model_info, inputs=name, outputs=[card_md, sources_md], api_name="model_info")
        if downloads:  # no download endpoint at all unless the operator allows downloads
            fetch.click(download, inputs=name, outputs=status, api_name="download_model", concurrency_limit=1).then(
                lambda n: (gr.update(value=table_rows()), *model_info(n)),
                inputs=name,
                outputs=[table, card_md, sources_md],
                api_visibility="private",
            )
        tab.select(lambda: gr.update(value=table_rows()), outputs=table, api_visibility="private")
    return tab
