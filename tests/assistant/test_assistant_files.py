"""/v1/files: upload (txt, md, pdf), list, search within a budget, delete; bad uploads are 4xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from msagent.knowledge import KnowledgeStore
from msagent.knowledge.index import query_terms

QA = (
    "高德天气API申请\n\n要使用高德天气，先在高德开放平台注册账号，创建应用并申请 Web 服务 API Key。\n\n"
    "Ray Serve scales model serving.\n\nModelScope hosts many models."
)


def make_pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` (ASCII) in Helvetica, xref offsets computed."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def _upload(url: str, uuid: str, *files: tuple[str, bytes, str]) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/files", data={"uuid_str": uuid}, files=[("files", (n, d, t)) for n, d, t in files]
    )


def test_upload_list_search_delete(scripted_url: str) -> None:
    r = _upload(
        scripted_url,
        "u1",
        ("QA.txt", QA.encode(), "text/plain"),
        ("notes.md", b"# Notes\n\nThe tool node runs in Docker.", "text/markdown"),
        ("paper.pdf", make_pdf("Bandwidth of the Zephyr interconnect"), "application/pdf"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["output"]["uuid_str"] == "u1"
    assert [f["name"] for f in body["output"]["files"]] == ["QA.txt", "notes.md", "paper.pdf"]

    listed = httpx.get(f"{scripted_url}/v1/files", params={"uuid_str": "u1"}).json()["output"]["files"]
    assert sorted(f["name"] for f in listed) == ["QA.txt", "notes.md", "paper.pdf"]

    def search(query: str, **params: Any) -> list[dict]:
        r = httpx.get(f"{scripted_url}/v1/files/search", params={"uuid_str": "u1", "query": query, **params})
        assert r.status_code == 200, r.text
        return r.json()["output"]["passages"]  # type: ignore[no-any-return]

    assert search("高德天气API申请")[0]["name"] == "QA.txt"
    assert search("zephyr interconnect")[0]["name"] == "paper.pdf"
    assert search("docker")[0]["name"] == "notes.md"
    assert search("docker", files="QA.txt") == []

    r = httpx.delete(f"{scripted_url}/v1/files/u1/notes.md")
    assert r.json()["output"]["deleted"] == ["notes.md"]
    assert search("docker") == []
    assert httpx.delete(f"{scripted_url}/v1/files/u1/notes.md").status_code == 404
    assert sorted(httpx.delete(f"{scripted_url}/v1/files/u1").json()["output"]["deleted"]) == ["QA.txt", "paper.pdf"]
    assert httpx.get(f"{scripted_url}/v1/files", params={"uuid_str": "u1"}).json()["output"]["files"] == []


@pytest.mark.parametrize(
    ("name", "data", "status", "needle"),
    [
        ("../x.txt", b"hi", 400, "path"),
        ("a/b.txt", b"hi", 400, "path"),
        ("..\\evil.txt", b"hi", 400, "path"),
        (".hidden.txt", b"hi", 400, "not allowed"),
        ("run.exe", b"MZ", 400, "unsupported"),
        ("big.txt", b"x" * 5000, 413, "limit"),
        ("broken.pdf", b"%PDF-1.4 garbage", 400, "pdf"),
    ],
)
def test_bad_uploads_are_4xx(scripted_url: str, name: str, data: bytes, status: int, needle: str) -> None:
    r = _upload(scripted_url, "u2", (name, data, "application/octet-stream"))
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert needle in err["message"].lower()
    assert err["param"] == "files"
    # nothing of a refused batch is stored, and nothing escaped the data dir
    assert httpx.get(f"{scripted_url}/v1/files", params={"uuid_str": "u2"}).json()["output"]["files"] == []


def test_same_name_twice_in_one_upload_is_400(scripted_url: str) -> None:
    r = _upload(scripted_url, "u4", ("a.txt", b"first", "text/plain"), ("a.txt", b"second", "text/plain"))
    assert r.status_code == 400 and "twice" in r.json()["error"]["message"]
    assert httpx.get(f"{scripted_url}/v1/files", params={"uuid_str": "u4"}).json()["output"]["files"] == []


def test_bad_uuid_and_missing_fields(scripted_url: str) -> None:
    r = _upload(scripted_url, "../up", ("a.txt", b"hi", "text/plain"))
    assert r.status_code == 400 and r.json()["error"]["param"] == "uuid_str"
    r = httpx.post(f"{scripted_url}/v1/files", data={"uuid_str": "u3"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "files"
    r = httpx.post(f"{scripted_url}/v1/files", files=[("files", ("a.txt", b"x", "text/plain"))])
    assert r.status_code == 400 and r.json()["error"]["param"] == "uuid_str"


def test_store_budget_and_replace(tmp_path: Path) -> None:
    store = KnowledgeStore(tmp_path, max_bytes=10_000)
    long = "\n\n".join(f"Paragraph {i} about ray serve ingress and haproxy settings. " * 3 for i in range(10))
    store.add("t", "long.md", long.encode())
    found = store.search("t", "haproxy ingress", budget=500)
    assert found and sum(len(p.text) for p in found) <= 500
    assert store.search("t", "haproxy ingress", budget=50)[0].text.__len__() <= 50
    store.add("t", "long.md", b"now only about kittens")
    assert store.search("t", "haproxy") == []
    assert store.search("t", "kittens")[0].name == "long.md"
    assert store.files("t")[0]["passages"] == 1
    assert (tmp_path / "t" / "long.md").read_bytes() == b"now only about kittens"


def test_query_terms() -> None:
    assert query_terms("高德天气") == ["高德天", "德天气"]
    assert query_terms("Ray is ok, serve!") == ["ray", "serve"]
    assert query_terms('"; DROP TABLE') == ["drop", "table"]
