"""Tools that tests/seeds builds into a tool-node image (``msagent build-image --tools``): users'
tools written as the seeds write them, reading their arguments with ``json.loads``.

- ``my_image_gen``: seed 004's tool, verbatim;
- ``RenewInstance``: seed 000's tool-service example (the answer its README shows);
- ``image_gen``: stands in for ModelScope-Agent's image_gen, whose DashScope image API is not
  reachable here; it refuses to run without the ``dashscope_api_key`` run keyword, which is what
  seed 000's example passes through ``bot.run(...)`` to the tool node.
"""

import json

from msagent.errors import ToolError
from msagent.tools.base import BaseTool, register_tool


@register_tool('my_image_gen')
class MyImageGen(BaseTool):
    description = 'AI画图工具,返回图片URL给用户'
    parameters = [{
        'name': 'prompt',
        'type': 'string',
        'description': '期望的图像内容的详细描述,注意描述必须用英文',
        'required': True
    }]

    def call(self, params: str, **kwargs) -> str:
        prompt = json.loads(params)['prompt']
        return json.dumps({'image_url': f'image/{prompt}'}, ensure_ascii=False)


@register_tool('RenewInstance')
class RenewInstance(BaseTool):
    description = '续费一台包年包月ECS实例'
    parameters = [
        {'name': 'instance_id', 'description': 'ECS实例ID', 'required': True, 'type': 'string'},
        {'name': 'period', 'description': '续费时长以月为单位', 'required': True, 'type': 'string'},
    ]

    def call(self, params: str, **kwargs) -> str:
        args = json.loads(params)
        return f"已完成ECS实例ID为{args['instance_id']}的续费，续费时长{args['period']}月"


@register_tool('image_gen')
class ImageGen(BaseTool):
    description = 'AI绘画（图像生成）服务，输入文本描述，返回根据文本信息绘制的图片URL。'
    parameters = [{'name': 'text', 'description': '详细描述了希望生成的图像具有什么内容', 'required': True, 'type': 'string'}]

    def call(self, params: str, **kwargs) -> str:
        if not kwargs.get('dashscope_api_key'):
            raise ToolError('image_gen needs the dashscope_api_key keyword: pass it to bot.run(...)')
        text = json.loads(params)['text']
        return f'![IMAGEGEN](https://images.example/{text}.png)'
