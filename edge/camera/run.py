"""``edge.camera.run``: model + source URI + recipe -> a running pipeline -> summary (and report files).

The preprocessing comes from the model's Recipe (edge.core.recipe), the same one calibration and the
accuracy gate use. Without a recipe, one is derived from the Runner's input metadata: gray when the
model takes 1 channel, else RGB; pixels scaled to [0, 1]; resized to the input's fixed H x W, or to
``size`` for dynamic models (the frame's own size when neither is given).
"""

from __future__ import annotations

from pathlib import Path

from edge.bench.load import load_artifact
from edge.camera.pipeline import Pipeline, PipelineConfig
from edge.camera.post import make_post
from edge.camera.sinks import open_sink
from edge.camera.sources import Source, open_source
from edge.errors import InputError


def recipe_for(runner, recipe=None, size: tuple[int, int] | None = None):
    """The Recipe to preprocess frames for ``runner``.

    Args:
        recipe: a Recipe, a recipe path / bundled name, or None (derive from the runner's metadata).
        size: (height, width) for models with dynamic H/W and no recipe resize.
    """
    from edge.core.recipe import Recipe

    if isinstance(recipe, Recipe):
        return recipe
    if recipe is not None:
        r = Recipe.load(recipe)
        if size is not None:
            r.resize = {"h": int(size[0]), "w": int(size[1]), "interp": "area"}
        return r
    meta = runner.inputs[0]
    shape = tuple(meta.shape) if meta.shape is not None else (None, 3, None, None)
    if len(shape) != 4:
        raise InputError(f"input '{meta.name}' has shape {shape}: the camera pipeline needs an NCHW image "
                         "input; give a recipe (--recipe) describing it")
    c = shape[1] if isinstance(shape[1], int) else 3
    fixed = all(isinstance(d, int) and d > 0 for d in shape[2:])
    h, w = (shape[2], shape[3]) if fixed else (size or (None, None))
    data = {"name": f"derived:{getattr(runner, 'name', 'model')}", "color": "gray" if c == 1 else "rgb",
            "inputs": [{"name": meta.name, "min": [1, c, 1, 1], "opt": [1, c, h or 224, w or 224],
                        "max": [1, c, 8192, 8192], "dtype": "float32"}]}
    if h and w:
        data["resize"] = {"h": int(h), "w": int(w), "interp": "area"}
    return Recipe.from_dict(data)


def feed_adapter(recipe, runner):
    """``frame -> feed`` from the recipe, its input names mapped onto the runner's (in order) when they
    differ, e.g. a recipe's "input" for a torch module whose forward argument is "x"."""
    names = [m.name for m in runner.inputs]
    declared = [i.name for i in recipe.inputs]
    if declared[: len(names)] == names:
        return recipe.preprocess
    if len(declared) != len(names):
        raise InputError(f"recipe {recipe.name} declares inputs {declared}; the model takes {names}")
    rename = dict(zip(declared, names))

    def preprocess(frame):
        return {rename[k]: v for k, v in recipe.preprocess(frame).items()}

    return preprocess


def run_pipeline(model, source, recipe=None, post: str | None = None, sink: str | None = None,
                 config: PipelineConfig | None = None, size: tuple[int, int] | None = None,
                 post_options: dict | None = None, out: str | Path | None = None, backend: str | None = None) -> dict:
    """Run ``model`` (artifact spec or Runner) on ``source`` until the stream ends or stops.

    Returns the summary (schema edge.bench/1, kind "pipeline"); with ``out``, also writes
    ``out/run.json``, ``run.md`` and plots.
    """
    runner = load_artifact(model, backend=backend)
    rec = recipe_for(runner, recipe, size)
    options = dict(post_options or {})
    if (post or {"classification": "topk"}.get(rec.output_kind)) == "topk":
        options.setdefault("labels", rec.labels())
        options.setdefault("k", rec.output.get("top_k"))
    postproc = make_post(post, rec.output_kind, **options)
    src = source if isinstance(source, Source) else open_source(
        source, timeout_s=(config.stall_timeout_s if config else None))  # an opened Source (e.g. stereo) as is
    fps = None
    if getattr(src, "cap", None) is not None:
        import cv2

        fps = src.cap.get(cv2.CAP_PROP_FPS) or None
    try:
        snk = open_sink(sink, fps=fps)
    except BaseException:
        src.close()
        raise
    summary = Pipeline(src, runner, feed_adapter(rec, runner), postproc, snk, config).run()
    summary["config"].update(recipe=rec.name, post=type(postproc).__name__, sink=sink or "null")
    if out is not None:
        from edge.bench.report import write_report

        write_report(summary, out, stem="run")
    return summary


__all__ = ["feed_adapter", "recipe_for", "run_pipeline"]
