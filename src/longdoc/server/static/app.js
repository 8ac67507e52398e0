// The longdoc page: uploads, the document list, questions streamed over the
// OpenAI-compatible API, and citations that open their passage.
// Every text from the server or a document goes in through textContent, never HTML.
"use strict";

const STRINGS = {
  en: {
    tagline: "Ask questions over long documents, with sources",
    mode: "Mode",
    token_label: "This server needs an access token",
    token_save: "Use token",
    documents: "Documents",
    drop: "Drop files here",
    or_choose: "or click to choose them",
    types: "{types} · up to {size}",
    no_files: "No documents yet.",
    hint: "Upload one or more documents, tick the ones to ask about, and ask a question. Answers cite their sources: click a source to read the passage.",
    placeholder: "Ask about your documents…",
    ask: "Ask",
    stop: "Stop",
    new_chat: "New conversation",
    in_context: "In context",
    you: "You",
    assistant: "longdoc",
    sources: "Sources",
    delete: "Delete",
    delete_confirm: "Delete {name}?",
    status_queued: "queued",
    status_indexing: "indexing…",
    status_ready: "ready",
    status_failed: "failed",
    uploading: "uploading {pct}%",
    chunk: "1 passage",
    chunks: "{chunks} passages",
    no_selection: "Tick at least one ready document to ask about.",
    no_documents: "Upload a document first.",
    not_supported: "{name}: this file type is not supported (allowed: {types})",
    too_big: "{name}: the file is too large (limit {size})",
    upload_failed: "{name}: upload failed: {reason}",
    network: "Cannot reach the server: {reason}",
    stopped: "(stopped)",
    interrupted: "The answer was interrupted: the connection closed early.",
    page: "page {page}",
    pages: "pages {page}–{end}",
    elapsed: "{s} s",
    stage_start: "Starting…",
    stage_load: "Loading the documents…",
    stage_plan: "Planning the search…",
    stage_retrieve: "Searching the passages…",
    stage_read: "Reading passages",
    stage_generate: "Writing the answer…",
    stage_agent: "Working step by step…",
    "stage_agent step": "Step",
    passage_missing: "The passage could not be loaded: {reason}",
    passage_n: "passage {n}",
  },
  zh: {
    tagline: "对长文档提问，答案附带出处",
    mode: "模式",
    token_label: "此服务器需要访问令牌",
    token_save: "使用令牌",
    documents: "文档",
    drop: "把文件拖到这里",
    or_choose: "或点击选择文件",
    types: "{types} · 最大 {size}",
    no_files: "还没有文档。",
    hint: "上传一个或多个文档，勾选要提问的文档，然后提问。答案会标出出处：点击出处即可阅读原文段落。",
    placeholder: "就文档内容提问……",
    ask: "提问",
    stop: "停止",
    new_chat: "新对话",
    in_context: "上下文",
    you: "你",
    assistant: "longdoc",
    sources: "出处",
    delete: "删除",
    delete_confirm: "删除 {name}？",
    status_queued: "排队中",
    status_indexing: "正在建立索引…",
    status_ready: "就绪",
    status_failed: "失败",
    uploading: "上传中 {pct}%",
    chunk: "1 个段落",
    chunks: "{chunks} 个段落",
    no_selection: "请至少勾选一个已就绪的文档。",
    no_documents: "请先上传文档。",
    not_supported: "{name}：不支持此文件类型（支持：{types}）",
    too_big: "{name}：文件太大（上限 {size}）",
    upload_failed: "{name}：上传失败：{reason}",
    network: "无法连接服务器：{reason}",
    stopped: "（已停止）",
    interrupted: "回答中断：连接提前关闭。",
    page: "第 {page} 页",
    pages: "第 {page}–{end} 页",
    elapsed: "{s} 秒",
    stage_start: "开始……",
    stage_load: "正在载入文档……",
    stage_plan: "正在规划检索……",
    stage_retrieve: "正在检索段落……",
    stage_read: "正在阅读段落",
    stage_generate: "正在撰写答案……",
    stage_agent: "正在逐步推理……",
    "stage_agent step": "步骤",
    passage_missing: "无法载入该段落：{reason}",
    passage_n: "第 {n} 段",
  },
};

const $ = (id) => document.getElementById(id);
function initialLanguage() {
  const saved = localStorage.getItem("longdoc.lang");
  if (saved === "en" || saved === "zh") return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

const state = {
  lang: initialLanguage(),
  token: sessionStorage.getItem("longdoc.token") || "",
  info: null,
  files: [],
  unticked: new Set(), // ids the user unticked; new ready files start ticked
  history: [], // {role, content} sent back with every question
  controller: null,
  pollTimer: null,
};

function t(key, vars = {}) {
  const s = STRINGS[state.lang][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

// ---- errors and the token -------------------------------------------------

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
}

function authHeaders() {
  return state.token ? { Authorization: `Bearer ${state.token}` } : {};
}

async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body.error?.message || message;
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 401) $("token-form").hidden = false;
  return new Error(message);
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  } catch (e) {
    throw new Error(t("network", { reason: e.message }));
  }
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

// ---- language and modes ----------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  $("lang").textContent = state.lang === "zh" ? "English" : "中文";
  if (state.info) {
    $("types").textContent = t("types", { types: state.info.file_types.join(" "), size: formatSize(state.info.max_upload_bytes) });
    // The server's mode table labels each mode in both languages.
    for (const mode of state.info.modes) {
      const option = [...$("mode").options].find((o) => o.value === mode.id);
      if (option) option.textContent = mode.labels[state.lang] || mode.labels.en || mode.id;
    }
  }
  renderFiles();
}

function fillModes(modes, fallback) {
  const select = $("mode");
  const saved = localStorage.getItem("longdoc.mode");
  const ids = modes.map((m) => m.id);
  select.replaceChildren(...ids.map((id) => el("option", { value: id, text: id })));
  select.value = ids.includes(saved) ? saved : fallback;
}

// ---- documents -------------------------------------------------------------------

function readyIds() {
  return state.files.filter((f) => f.status === "ready" && !state.unticked.has(f.id)).map((f) => f.id);
}

function renderFiles() {
  const list = $("files");
  list.replaceChildren(...state.files.map(fileRow));
  $("no-files").hidden = state.files.length > 0 || $("uploads").children.length > 0;
}

function fileRow(f) {
  const ready = f.status === "ready";
  const tick = el("input", { type: "checkbox", "aria-label": f.filename });
  tick.checked = ready && !state.unticked.has(f.id);
  tick.disabled = !ready;
  tick.addEventListener("change", () => {
    if (tick.checked) state.unticked.delete(f.id);
    else state.unticked.add(f.id);
  });
  const meta = [formatSize(f.bytes)];
  if (ready) meta.push(t(f.chunks === 1 ? "chunk" : "chunks", { chunks: f.chunks }));
  const row = el("li", { class: `file ${f.status}`, "data-id": f.id },
    tick,
    el("div", { class: "file-main" },
      el("span", { class: "file-name", text: f.filename, title: f.filename }),
      el("span", { class: "file-meta muted", text: meta.join(" · ") })),
    el("span", { class: `badge ${f.status}`, text: t(`status_${f.status}`) }),
    el("button", {
      type: "button", class: "ghost icon", title: t("delete"), "aria-label": `${t("delete")} ${f.filename}`,
      text: "×", onclick: () => deleteFile(f),
    }));
  if (f.status === "failed") row.append(el("p", { class: "reason", text: f.status_details || "" }));
  return row;
}

async function refreshFiles() {
  try {
    const body = await api("/v1/files");
    state.files = body.data;
    renderFiles();
  } catch (e) {
    showError(e.message);
  }
  schedulePoll();
}

function schedulePoll() {
  clearTimeout(state.pollTimer);
  const busy = state.files.some((f) => f.status === "queued" || f.status === "indexing");
  if (busy) state.pollTimer = setTimeout(refreshFiles, 700);
}

async function deleteFile(f) {
  if (!confirm(t("delete_confirm", { name: f.filename }))) return;
  try {
    await api(`/v1/files/${encodeURIComponent(f.id)}`, { method: "DELETE" });
  } catch (e) {
    showError(e.message);
  }
  refreshFiles();
}

function uploadAll(fileList) {
  clearError();
  for (const file of fileList) upload(file);
}

// One request per file, so each gets its own progress bar and its own error.
function upload(file) {
  const info = state.info;
  const dot = file.name.lastIndexOf(".");
  const suffix = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
  if (info && !info.file_types.includes(suffix)) {
    showError(t("not_supported", { name: file.name, types: info.file_types.join(" ") }));
    return;
  }
  if (info && file.size > info.max_upload_bytes) {
    showError(t("too_big", { name: file.name, size: formatSize(info.max_upload_bytes) }));
    return;
  }
  const bar = el("progress", { max: "100", value: "0" });
  const label = el("span", { class: "muted", text: t("uploading", { pct: 0 }) });
  const row = el("li", { class: "upload" }, el("span", { class: "file-name", text: file.name }), label, bar);
  $("uploads").append(row);
  renderFiles();

  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/v1/files");
  for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
  xhr.upload.addEventListener("progress", (e) => {
    if (!e.lengthComputable) return;
    const pct = Math.round((100 * e.loaded) / e.total);
    bar.value = pct;
    label.textContent = t("uploading", { pct });
  });
  const finish = (reason) => {
    row.remove();
    if (reason) showError(t("upload_failed", { name: file.name, reason }));
    refreshFiles();
  };
  xhr.addEventListener("load", () => {
    if (xhr.status === 200) return finish(null);
    let reason = `${xhr.status} ${xhr.statusText}`;
    try { reason = JSON.parse(xhr.responseText).error.message || reason; } catch (_) { /* keep the status */ }
    if (xhr.status === 401) $("token-form").hidden = false;
    finish(reason);
  });
  xhr.addEventListener("error", () => finish(t("network", { reason: "upload interrupted" })));
  const form = new FormData();
  form.append("file", file, file.name);
  xhr.send(form);
}

function setUpDrop() {
  const drop = $("drop");
  const input = $("file-input");
  input.addEventListener("change", () => {
    uploadAll(input.files);
    input.value = "";
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (e) => uploadAll(e.dataTransfer.files));
  // A file dropped beside the box would otherwise replace the page with the file.
  for (const name of ["dragover", "drop"]) window.addEventListener(name, (e) => e.preventDefault());
}

// ---- asking ----------------------------------------------------------------------

function addMessage(role, text) {
  $("hint").hidden = true;
  const body = el("div", { class: "body", text });
  const who = role === "user" ? "you" : "assistant";
  const msg = el("article", { class: `message ${role}` }, el("div", { class: "who", "data-i18n": who, text: t(who) }), body);
  $("conversation").append(msg);
  msg.scrollIntoView({ block: "end" });
  return { msg, body };
}

// What the pipeline is doing, in the page's language; null for a status line
// that only repeats a progress event ("read: 3/12").
function stageText(event) {
  if (event.progress) {
    const p = event.progress;
    return `${t(`stage_${p.stage}`)} ${p.done}/${p.total}`;
  }
  const status = String(event.status || "");
  if (/:\s*\d+\/\d+/.test(status)) return null;
  const stage = status.split(":")[0].trim();
  const key = { index: "stage_load", "load index": "stage_load", "load model": "stage_load" }[stage] || `stage_${stage}`;
  return STRINGS.en[key] ? t(key) : status;
}

function showProgress(text, done = null, total = null) {
  $("progress").hidden = false;
  $("progress-text").textContent = text;
  const bar = $("progress-bar");
  if (done === null || !total) bar.removeAttribute("value");
  else { bar.max = total; bar.value = done; }
}

// Server-sent events from a fetch body: one JSON object per "data:" line.
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data:")) continue; // ":" lines are keep-alive comments
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        yield JSON.parse(data);
      }
    }
  }
}

async function ask(question) {
  clearError();
  const fileIds = readyIds();
  if (!fileIds.length) {
    showError(state.files.length ? t("no_selection") : t("no_documents"));
    return; // the question stays in the box
  }
  $("question").value = "";
  const messages = [...state.history, { role: "user", content: question }];
  addMessage("user", question);
  const { msg, body } = addMessage("assistant", "");
  msg.classList.add("streaming");
  setBusy(true);
  const started = Date.now();
  let stage = t("stage_start");
  let counts = [null, null];
  const tick = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    showProgress(`${stage} · ${t("elapsed", { s: seconds })}`, ...counts);
  }, 500);
  showProgress(stage);
  state.controller = new AbortController();
  let answer = "";
  let final = null;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify({ model: $("mode").value, messages, stream: true, file_ids: fileIds }),
      signal: state.controller.signal,
    });
    if (!response.ok) throw await errorFrom(response);
    for await (const chunk of sseEvents(response)) {
      if (chunk.error) throw new Error(chunk.error.message);
      const choice = chunk.choices?.[0];
      if (choice?.delta?.content) {
        answer += choice.delta.content;
        body.textContent = answer;
        msg.scrollIntoView({ block: "end" });
      }
      if (chunk.longdoc?.progress || chunk.longdoc?.status) {
        const text = stageText(chunk.longdoc);
        if (text !== null) {
          const p = chunk.longdoc.progress;
          stage = text;
          counts = p ? [p.done, p.total] : [null, null];
        }
      }
      if (choice?.finish_reason) final = chunk;
    }
    if (!final) throw new Error(t("interrupted"));
    renderAnswer(body, answer, final.citations || []);
    msg.append(citationList(final.citations || []));
    const skipped = final.longdoc?.errors || []; // documents that could not be used
    if (skipped.length) showError(skipped.join("\n"));
    state.history.push({ role: "user", content: question }, { role: "assistant", content: answer });
  } catch (e) {
    if (e.name === "AbortError") {
      body.textContent = `${answer} ${t("stopped")}`;
    } else {
      msg.classList.add("failed");
      body.textContent = answer || e.message;
      showError(e.message);
    }
  } finally {
    clearInterval(tick);
    msg.classList.remove("streaming");
    $("progress").hidden = true;
    setBusy(false);
    state.controller = null;
  }
}

function setBusy(busy) {
  $("ask").disabled = busy;
  $("stop").hidden = !busy;
  $("question").disabled = busy;
}

// The answer's [n] markers become buttons that open the cited passage.
function renderAnswer(body, text, citations) {
  const byN = new Map(citations.map((c) => [c.n, c]));
  body.replaceChildren();
  let last = 0;
  for (const m of text.matchAll(/\[(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\]/g)) {
    body.append(text.slice(last, m.index));
    const numbers = m[1].split(/[,，]/).map((s) => Number(s.trim()));
    body.append("[");
    numbers.forEach((n, i) => {
      if (i) body.append(", ");
      const c = byN.get(n);
      body.append(c ? el("button", { type: "button", class: "marker", text: String(n), onclick: () => openPassage(c) }) : String(n));
    });
    body.append("]");
    last = m.index + m[0].length;
  }
  body.append(text.slice(last));
}

function where(c) {
  const parts = [c.file];
  if (c.page != null) parts.push(t("page", { page: c.page }));
  return parts.join(" · ");
}

function citationList(citations) {
  if (!citations.length) return document.createTextNode("");
  const items = citations.map((c) => el("li", {},
    el("button", { type: "button", class: "citation", onclick: () => openPassage(c) },
      el("span", { class: "n", text: `[${c.n}]` }),
      el("span", { class: "src", text: where(c) }),
      el("span", { class: "quote", text: `“${c.text}”` }))));
  return el("div", { class: "sources" }, el("h4", { "data-i18n": "sources", text: t("sources") }), el("ol", {}, ...items));
}

// ---- the passage viewer ------------------------------------------------------------

async function openPassage(c) {
  const dialog = $("passage");
  $("passage-title").textContent = `[${c.n}] ${c.file}`;
  $("passage-where").textContent = where(c);
  $("passage-quote").textContent = c.text;
  $("passage-text").replaceChildren();
  if (!dialog.open) dialog.showModal();
  if (!c.file_id) return;
  try {
    const p = await api(`/v1/files/${encodeURIComponent(c.file_id)}/passages/${encodeURIComponent(c.chunk_id)}`);
    const place = [c.file];
    if (p.page != null) place.push(p.page_end && p.page_end !== p.page ? t("pages", { page: p.page, end: p.page_end }) : t("page", { page: p.page }));
    if (p.heading.length) place.push(p.heading.join(" › "));
    place.push(t("passage_n", { n: p.index + 1 }));
    $("passage-where").textContent = place.join(" · ");
    $("passage-text").replaceChildren(...highlighted(p.text.trim(), c.text));
    $("passage-text").querySelector("mark")?.scrollIntoView({ block: "center" });
  } catch (e) {
    $("passage-text").textContent = t("passage_missing", { reason: e.message });
  }
}

// The passage as text nodes, with the quoted sentence marked where it occurs.
function highlighted(passage, quote) {
  const needle = quote.replace(/…$/, "").trim();
  const at = needle ? passage.indexOf(needle) : -1;
  if (at < 0) return [document.createTextNode(passage)];
  return [
    document.createTextNode(passage.slice(0, at)),
    el("mark", { text: passage.slice(at, at + needle.length) }),
    document.createTextNode(passage.slice(at + needle.length)),
  ];
}

// ---- start -------------------------------------------------------------------------------

function newConversation() {
  state.controller?.abort();
  state.history = [];
  $("conversation").replaceChildren($("hint"));
  $("hint").hidden = false;
  $("question").focus();
}

async function start() {
  setUpDrop();
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("longdoc.lang", state.lang);
    applyLanguage();
  });
  $("error-close").addEventListener("click", clearError);
  $("passage-close").addEventListener("click", () => $("passage").close());
  $("passage").addEventListener("click", (e) => { if (e.target === $("passage")) $("passage").close(); });
  $("mode").addEventListener("change", () => localStorage.setItem("longdoc.mode", $("mode").value));
  $("new-chat").addEventListener("click", newConversation);
  $("stop").addEventListener("click", () => state.controller?.abort());
  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const question = $("question").value.trim();
    if (question && !state.controller) ask(question);
  });
  $("question").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { // isComposing: Chinese input methods use Enter
      e.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("token-input").value.trim();
    sessionStorage.setItem("longdoc.token", state.token);
    $("token-form").hidden = true;
    clearError();
    refreshFiles();
  });

  applyLanguage();
  try {
    state.info = await api("/v1/info");
  } catch (e) {
    showError(e.message);
    return;
  }
  $("file-input").accept = state.info.file_types.join(",");
  fillModes(state.info.modes, state.info.default_model);
  applyLanguage();
  if (state.info.auth_required && !state.token) {
    $("token-form").hidden = false; // the list loads once the token is given
    $("token-input").focus();
    return;
  }
  refreshFiles();
}

start();
