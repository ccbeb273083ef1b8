"""Fake model servers speaking the real wire protocols, for tests and benchmarks.

with FakeOpenAIServer(replies=[FakeReply(text="hi")]) as server:
    OpenAI(base_url=server.base_url, api_key="x").chat.completions.create(...)
    server.requests  # the JSON bodies received
"""

from msagent.testing.dashscope_server import FakeDashScopeServer
from msagent.testing.openai_server import FakeOpenAIServer
from msagent.testing.post_api_server import FakePostAPIServer
from msagent.testing.reply import FakeReply

__all__ = ["FakeDashScopeServer", "FakeOpenAIServer", "FakePostAPIServer", "FakeReply"]
