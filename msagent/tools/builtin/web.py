"""The web (XAgent's ``WebEnv``): fetch a page as readable text, and search through a configured
engine. In a tool node without network (the default) both say how to get one.

The search engine is any HTTP endpoint answering JSON: ``cfg['search_url']`` (else
``$MSAGENT_SEARCH_URL``), called as ``GET <url>?q=<query>&format=json`` (SearXNG), or with
``{query}`` in the URL replaced; results are read from SearXNG's ``results``, Bing's
``webPages.value`` or a plain list of ``{title|name, url, content|snippet}``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

from msagent.errors import ToolArgumentError, ToolError
from msagent.tools.builtin.env_tool import EnvTool
from msagent.tools.registry import register_tool

SEARCH_URL_ENV = "MSAGENT_SEARCH_URL"
NODE_NETWORK_ENV = "MSAGENT_NODE_NETWORK"  # "0" in a tool node created without network
_SKIP = {"script", "style", "noscript", "template", "svg", "head"}
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre", "table",
          "ul", "ol", "header", "footer", "nav", "blockquote", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._skip = 0
        self._href: str | None = None
        self._anchor: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        if tag == "a":
            self._href, self._anchor = dict(attrs).get("href"), []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skip:
            self._skip -= 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        if tag == "a" and self._href and self._href.startswith("http"):
            label = " ".join("".join(self._anchor).split())
            if label:
                self.links.append((label, self._href))
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)
            if self._href is not None:
                self._anchor.append(data)


def readable_text(html: str, max_links: int = 50) -> str:
    """Page text line by line (scripts and styles dropped), then its outgoing links."""
    parser = _Text()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text = "\n".join(line for line in lines if line)
    if parser.links:
        text += "\n\nLinks:\n" + "\n".join(f"{label} ({href})" for label, href in parser.links[:max_links])
    return text


class _WebTool(EnvTool):
    env = "WebEnv"

    def client(self) -> Any:
        if os.environ.get(NODE_NETWORK_ENV) == "0":
            raise ToolError(f"this tool node has no network; create it with tool_cfg {{\"network\": true}} to use "
                            f"{self.name}")
        import httpx

        return httpx.Client(timeout=float(self.cfg.get("http_timeout", 20)), follow_redirects=True,
                            headers={"User-Agent": str(self.cfg.get("user_agent") or "msagent-web/1")})


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolArgumentError(f"'url' must be an http(s) address, got {url!r}")
    try:  # cloud metadata and other link-local services are never fetched
        addrs = {str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, None)}
    except OSError:
        return url.strip()
    if any(ipaddress.ip_address(a.split("%")[0]).is_link_local for a in addrs):
        raise ToolArgumentError(f"'url' {url!r} points to a link-local address, which is not fetched")
    return url.strip()


@register_tool("WebEnv_browse_website")
class BrowseWebsite(_WebTool):
    description = "Fetch a web page (http or https) and return its readable text and links."
    parameters = {"type": "object", "required": ["url"], "properties": {
        "url": {"type": "string", "description": "the page's address"},
        "max_chars": {"type": "integer", "description": "cut the text here (default 20000)"}}}

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        http = self.client()  # first: without network, say so before any name lookup
        url = check_url(str(args["url"]))
        limit = int(args.get("max_chars") or 20000)
        with http:
            try:
                r = http.get(url)
            except Exception as e:  # noqa: BLE001  (any transport failure is the model's observation)
                raise ToolError(f"could not fetch {url}: {type(e).__name__}: {e}") from None
        if r.status_code >= 400:
            raise ToolError(f"{url} answered HTTP {r.status_code}: {r.text[:500]}")
        kind = r.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind in ("text/html", "application/xhtml+xml") or (not kind and "<html" in r.text[:1000].lower()):
            text = readable_text(r.text)
        elif kind.startswith("text/") or kind in ("application/json", "application/xml"):
            text = r.text
        else:
            return f"{url} is {kind or 'binary content'} ({len(r.content)} bytes), not text"
        return text[:limit] + (f"\n... (cut at {limit} characters)" if len(text) > limit else "")


@register_tool("WebEnv_search")
class Search(_WebTool):
    description = "Search the web through the configured search engine; returns titles, addresses and snippets."
    parameters = {"type": "object", "required": ["query"], "properties": {
        "query": {"type": "string", "description": "what to search for"},
        "num_results": {"type": "integer", "description": "how many results (default 5)"}}}

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        engine = str(self.cfg.get("search_url") or os.environ.get(SEARCH_URL_ENV) or "")
        if not engine:
            raise ToolError(f"no search engine is configured; set tool_cfg {{\"WebEnv\": {{\"search_url\": "
                            f"\"https://searx.example/search\"}}}} or ${SEARCH_URL_ENV}")
        query = str(args["query"]).strip()
        if not query:
            raise ToolArgumentError("'query' is empty")
        if "{query}" in engine:
            url, params_ = engine.replace("{query}", quote(query)), None
        else:
            url, params_ = engine, {"q": query, "format": "json"}
        with self.client() as http:
            try:
                r = http.get(url, params=params_, headers=dict(self.cfg.get("search_headers") or {}))
                data = r.json() if r.status_code < 400 else None
            except Exception as e:  # noqa: BLE001
                raise ToolError(f"the search engine at {engine} failed: {type(e).__name__}: {e}") from None
        if data is None:
            raise ToolError(f"the search engine answered HTTP {r.status_code}: {r.text[:300]}")
        results = _results(data)[: int(args.get("num_results") or 5)]
        if not results:
            return f"no results for {query!r}"
        return "\n".join(f"{i}. {title}\n   {url}\n   {snippet}".rstrip()
                         for i, (title, url, snippet) in enumerate(results, 1))


def _results(data: Any) -> list[tuple[str, str, str]]:
    items = data
    if isinstance(data, dict):
        items = data.get("results") or (data.get("webPages") or {}).get("value") or data.get("items") or []
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and (item.get("url") or item.get("link")):
            title = str(item.get("title") or item.get("name") or "")
            snippet = re.sub(r"\s+", " ", str(item.get("content") or item.get("snippet") or "")).strip()
            out.append((title, str(item.get("url") or item.get("link")), snippet))
    return out
