"""Built-in tools; importing this package registers them (the registry does it on first lookup).

Besides the three general tools, the environment tools of XAgent's ToolServer: ``FileSystemEnv_*``
(file editor), ``PythonNotebook_*``, ``ShellEnv_*``, ``WebEnv_*`` and ``RapidAPIEnv_call_api``,
sharing one workspace (``workspace.py``).
"""

import msagent.tools.builtin.calculator
import msagent.tools.builtin.code_interpreter
import msagent.tools.builtin.current_time
import msagent.tools.builtin.filesystem
import msagent.tools.builtin.notebook
import msagent.tools.builtin.rapidapi
import msagent.tools.builtin.shell
import msagent.tools.builtin.web  # noqa: F401
