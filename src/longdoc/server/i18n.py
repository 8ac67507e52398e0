"""The server's failure reasons in the reader's language.

The pipeline and the routes word their reasons in English; a client that
prefers Chinese (`Accept-Language: zh...`, as the page sends once Chinese is
chosen) gets them in Chinese. Each entry matches one English message whole;
its groups (a file name, a nested reason) are translated in turn, so
"notes.md: file is empty" and "x.pdf (file-...) could not be indexed: PDF is
encrypted (password required)" both come out in Chinese. A message with no
entry is returned unchanged: English is better than nothing
(tests/test_server_features.py provokes the common failures in Chinese).
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers

LANGUAGES = ("en", "zh")

_ZH: list[tuple[str, str]] = [
    # files and parsing
    (r"(.+?): (.+)", "{0}：{1}"),
    (r"file is empty", "文件是空的"),
    (r"no text found", "没有找到文字"),
    (r"no such file", "文件不存在"),
    (r"permission denied", "没有读取权限"),
    (r"unsupported file type (.+) \(supported: (.+)\)", "不支持的文件类型 {0}（支持：{1}）"),
    (r"file type (.+) is not supported \(allowed: (.+)\)", "不支持文件类型 {0}（支持：{1}）"),
    (r"looks like a binary file, not text", "看起来是二进制文件，不是文本"),
    (
        r"looks like a binary file, not text \(no text encoding fits\)",
        "看起来是二进制文件，不是文本（没有合适的文本编码）",
    ),
    (r"not a PDF file \(no %PDF header\)", "不是 PDF 文件（没有 %PDF 文件头）"),
    (r"PDF is encrypted \(password required\)", "PDF 已加密（需要密码）"),
    (r"PDF has no pages", "PDF 没有页面"),
    (r"not a valid PDF \(truncated or corrupt\)", "不是有效的 PDF（文件不完整或已损坏）"),
    (r"no extractable text \(scanned PDF\? OCR is not supported\)", "没有可提取的文字（扫描版 PDF？不支持 OCR）"),
    (r"could not extract text from any page \(corrupt PDF\?\)", "所有页面都无法提取文字（PDF 已损坏？）"),
    (r"could not read this (\w+) file \((.+)\)", "无法读取这个 {0} 文件（{1}）"),
    (
        r"not a valid (\w+) file: it is password-protected or an old binary Office file",
        "不是有效的 {0} 文件：它有密码保护，或是旧版二进制 Office 文件",
    ),
    (r"not a valid (\w+) \(zip\) file", "不是有效的 {0}（zip）文件"),
    (r"not a valid (\w+) file \(required parts are missing\)", "不是有效的 {0} 文件（缺少必需的部分）"),
    (r"not a (\w+) file \(it holds another kind of Office document\)", "不是 {0} 文件（里面是另一种 Office 文档）"),
    (r"(.+) \((file-[0-9a-f]+)\) could not be indexed: (.+)", "{0}（{1}）未能建立索引：{2}"),
    (
        r"(.+) \((file-[0-9a-f]+)\) is still (queued|indexing): ask again when its status is ready",
        "{0}（{1}）仍在{2}：请在状态变为就绪后再提问",
    ),
    (r"queued", "排队"),
    (r"indexing", "建立索引"),
    (r"(.+) is not indexed \(status: (\w+)\)", "{0} 尚未建立索引（状态：{1}）"),
    (r"no such file: (.+)", "没有这个文件：{0}"),
    (r"no passage (.+) in (.+)", "{1} 中没有段落 {0}"),
    (r"pages are shown for PDF files only", "只有 PDF 文件可以显示页面"),
    (r"(.+) has no page (\d+)", "{0} 没有第 {1} 页"),
    (r"could not render page (\d+) of (.+)", "无法显示 {1} 的第 {0} 页"),
    (
        r"no documents to ask about: upload files \(POST /v1/files\) and wait until their status is ready",
        "没有可提问的文档：请先上传文件（POST /v1/files），等它们的状态变为就绪",
    ),
    (r"the documents could not be read: (.+)", "无法读取这些文档：{0}"),
    (r"no usable input: (.+)", "没有可用的输入：{0}"),
    # collections
    (r"no such collection: (.+)", "没有这个文档集：{0}"),
    (r"a collection named (.+) already exists", "已经有名为 {0} 的文档集"),
    (r"the collection name is empty", "文档集名称为空"),
    (r"the collection (.+) has no documents: upload files into it first", "文档集 {0} 中没有文档：请先向其中上传文件"),
    (r"the collection (.+) has no ready documents yet: (.+)", "文档集 {0} 中还没有就绪的文档：{1}"),
    # questions
    (r"the question is empty", "问题为空"),
    (r"the question is ([\d,]+) characters; the limit is ([\d,]+)", "问题有 {0} 个字符，上限是 {1}"),
    (r"the last message must be the user's question", "最后一条消息必须是用户的问题"),
    (r"only text content is supported \(got a '(.+)' part\)", "只支持文字内容（收到了 '{0}' 部分）"),
    (
        r"unknown model '(.+)': choose one of (.+) \(each names a longdoc mode\)",
        "未知模型 '{0}'：请选择 {1}（每个对应一种 longdoc 模式）",
    ),
    (r"no such model: (.+)", "没有这个模型：{0}"),
    # the model
    (r"the model is still loading: try again in a few seconds", "模型仍在加载：请几秒钟后再试"),
    (r"the model could not be loaded: (.+)", "模型未能加载：{0}"),
    (r"the model backend failed: (.+)", "模型后端出错：{0}"),
    (r"busy: (\d+) questions are waiting; retry later", "服务器繁忙：有 {0} 个问题在等待，请稍后重试"),
    (r"internal error: (.+)", "内部错误：{0}"),
    # requests
    (r"request body too large: the limit is ([\d,]+) bytes", "请求内容太大：上限是 {0} 字节"),
    (
        r"missing bearer token: send 'Authorization: Bearer <token>'",
        "缺少访问令牌：请发送 'Authorization: Bearer <token>'",
    ),
    (r"invalid bearer token", "访问令牌无效"),
    (r"cross-origin requests are not allowed", "不允许跨站请求"),
    (
        r"host '(.*)' not allowed: without a token this server only answers to localhost",
        "不允许主机 '{0}'：没有设置令牌时，此服务器只响应 localhost",
    ),
    (r"malformed JSON: (.+)", "JSON 格式错误：{0}"),
    (r"the body must be a JSON object", "请求内容必须是 JSON 对象"),
    (r"send JSON with 'Content-Type: application/json'", "请以 JSON 发送，并带 'Content-Type: application/json'"),
    (
        r"send JSON with 'Content-Type: application/json' \(got (.+)\)",
        "请以 JSON 发送，并带 'Content-Type: application/json'（收到的是 {0}）",
    ),
    (r"nested too deeply", "嵌套太深"),
    (
        r"(.+): not stored: uploads would take ([\d,]+) bytes, over the server's limit of ([\d,]+) \(delete files first\)",
        "{0}：未保存：上传文件将占用 {1} 字节，超过服务器上限 {2}（请先删除一些文件）",
    ),
    (r"took longer than (\d+) s to read \(the limit per file\)", "读取超过 {0} 秒（每个文件的上限）"),
    (r"took longer than (\d+) s to read \(the server's limit per file\)", "读取超过 {0} 秒（服务器对每个文件的上限）"),
    (r"holds more than ([\d,]+) characters of text \(the limit per file\)", "文字超过 {0} 个字符（每个文件的上限）"),
    (
        r"this (DOCX|PPTX) inflates to ([\d,]+) MiB, over the limit of ([\d,]+) MiB \(a zip bomb\?\)",
        "这个 {0} 解压后有 {1} MiB，超过上限 {2} MiB（压缩炸弹？）",
    ),
    (r"HTML nested ([\d,]+) elements deep \(the limit is ([\d,]+)\)", "HTML 嵌套 {0} 层（上限是 {1}）"),
    (
        r"the parser ran out of memory or crashed reading it \(limit ([\d,]+) MB\)",
        "解析器读取时内存不足或崩溃（上限 {0} MB）",
    ),
    (r"invalid request: (.+)", "无效请求：{0}"),
    (
        r"upload files as multipart/form-data, one part named 'file' per file",
        "请以 multipart/form-data 上传文件，每个文件一个名为 'file' 的部分",
    ),
    (
        r"no file in the upload: send one multipart part named 'file' per file",
        "上传内容中没有文件：每个文件请发送一个名为 'file' 的部分",
    ),
]
# Whole-message entries are tried before the "name: reason" split, so a
# reason with a colon of its own keeps its wording.
_TABLE = [(re.compile(p), t) for p, t in _ZH[1:]] + [(re.compile(_ZH[0][0]), _ZH[0][1])]


def language(headers: Headers) -> str:
    """ "zh" when the client's first choice is Chinese, else "en"."""
    first = headers.get("accept-language", "").split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def translate(message: str, lang: str) -> str:
    if lang != "zh" or not message:
        return message
    return _zh(message, depth=0)


def _zh(message: str, depth: int) -> str:
    if depth > 4:
        return message
    for pattern, template in _TABLE:
        m = pattern.fullmatch(message)
        if m is None:
            continue
        parts = [_zh(g, depth + 1) if g is not None else "" for g in m.groups()]
        if template == "{0}：{1}" and parts[1] == m.group(2):
            continue  # "name: reason" only when the reason itself is known
        return template.format(*parts)
    return message
