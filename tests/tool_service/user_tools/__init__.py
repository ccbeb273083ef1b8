"""A user's own tools, as a test package: ``msagent build-image --tools <this folder>`` bakes them
(and ``requirements.txt``) into a tool-node image. Not importable on the test host on purpose:
``tabulate`` is installed only in the image."""

from user_tools import renew_instance, tables  # noqa: F401  (registers the tools)
