"""``shopsense encoder``: build and inspect the sentence encoders."""

from __future__ import annotations

import typer

from shopsense.cli.common import console, fail

app = typer.Typer(no_args_is_help=True)


@app.command("export")
def export(force: bool = typer.Option(False, help="Rebuild even if the export exists.")) -> None:
    """Export the packaged MiniLM to fp32 ONNX (needs the train extra; makes the default backend faster)."""
    from shopsense.text.model_files import external_data_path, fp32_minilm_path
    from shopsense.text.onnx_export import export_minilm_fp32, externalise

    target = fp32_minilm_path()
    data = external_data_path(target)
    try:
        if target.exists() and not force:
            if data.exists():
                console.print(f"fp32 encoder already exported: {target}")
                return
            # an older export, weights inside the graph: move them beside it so server processes share them
            externalise(target, target)
            console.print(f"weights moved to {data}: every server process now maps one copy")
            return
        path = export_minilm_fp32(target)
    except (ImportError, RuntimeError) as exc:
        fail(f"cannot export the encoder: {exc}")
    console.print(f"exported {path} and {data.name} ({data.stat().st_size / 1e6:.0f} MB)")


@app.command("info")
def info(backend: str = typer.Option("onnx", help="onnx | torch | multilingual")) -> None:
    """Show which model a backend loads and its dimension."""
    from shopsense.text.encoder import get_encoder

    try:
        encoder = get_encoder(backend)
    except (ValueError, RuntimeError) as exc:
        fail(str(exc))
    console.print(f"backend={backend} model_id={encoder.model_id} dim={encoder.dim}")
