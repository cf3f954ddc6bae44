"""Camera pipelines: sources by URI, capture/inference/output threads, post-processing, sinks."""

from edge.camera.pipeline import Pipeline, PipelineConfig
from edge.camera.post import make_post, posts
from edge.camera.queues import POLICIES, FrameQueue
from edge.camera.run import recipe_for, run_pipeline
from edge.camera.sinks import open_sink
from edge.camera.sources import CorruptFrame, Source, SourceError, open_source

__all__ = [
    "POLICIES",
    "CorruptFrame",
    "FrameQueue",
    "Pipeline",
    "PipelineConfig",
    "Source",
    "SourceError",
    "make_post",
    "open_sink",
    "open_source",
    "posts",
    "recipe_for",
    "run_pipeline",
]
