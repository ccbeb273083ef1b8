"""A user tool with a pip requirement of its own (``tabulate``, from requirements.txt)."""

import json

from tabulate import tabulate

from msagent.tools.base import BaseTool
from msagent.tools.registry import register_tool


@register_tool('format_table')
class FormatTable(BaseTool):
    description = 'Format rows as a plain-text table.'
    parameters = [{'name': 'rows', 'type': 'array', 'description': 'rows (lists of cells)', 'required': True}]

    def call(self, params: str, **kwargs):
        rows = json.loads(params)['rows']
        return tabulate(rows, tablefmt='plain')
