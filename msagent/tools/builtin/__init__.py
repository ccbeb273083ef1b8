"""Built-in tools; importing this package registers them (the registry does it on first lookup)."""

import msagent.tools.builtin.calculator
import msagent.tools.builtin.code_interpreter
import msagent.tools.builtin.current_time  # noqa: F401
