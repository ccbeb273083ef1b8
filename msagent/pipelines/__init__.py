"""AgentScope's pipelines (seed 003): ``SequentialPipeline``, ``IfElsePipeline``, ``SwitchPipeline``,
``ForLoopPipeline``, ``WhileLoopPipeline``; the functional forms are in
``msagent.pipelines.functional``. Agents, pipelines and plain functions nest freely."""

from msagent.pipelines.pipeline import (
    ForLoopPipeline,
    IfElsePipeline,
    PipelineBase,
    SequentialPipeline,
    SwitchPipeline,
    WhileLoopPipeline,
)

__all__ = [
    "ForLoopPipeline",
    "IfElsePipeline",
    "PipelineBase",
    "SequentialPipeline",
    "SwitchPipeline",
    "WhileLoopPipeline",
]
