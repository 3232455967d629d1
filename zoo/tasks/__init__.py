"""Tasks on top of the networks: image in, image out (upscale, ...). Nothing here knows Gradio or the CLI."""
