// Asking: the question streamed over the OpenAI-compatible API, the answer shown
// as it arrives and then as the server's cleaned Markdown, its [n] markers and
// sources opening the cited passage; each finished turn is saved (conversations.js).
import { clearError, showError } from "./banners.js";
import * as conversations from "./conversations.js";
import { $, el } from "./dom.js";
import { hasString, t } from "./i18n.js";
import { errorFrom, NetworkError, request } from "./http.js";
import { askTarget } from "./library.js";
import { openPassage, where } from "./passage.js";
import { state } from "./state.js";

const MARKERS = /\[(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\]/g;

function addMessage(role, text) {
  $("hint").hidden = true;
  const body = el("div", { class: "body", text });
  const who = role === "user" ? "you" : "assistant";
  const msg = el("article", { class: `message ${role}` }, el("div", { class: "who", "data-i18n": who, text: t(who) }), body);
  $("conversation").append(msg);
  msg.scrollIntoView({ block: "end" });
  return { msg, body };
}

// One stored turn of a conversation, as the page shows it.
function showStored(m) {
  const { msg, body } = addMessage(m.role, m.content);
  if (m.role === "assistant") {
    renderAnswer(body, m.content, m.html, m.citations || []);
    msg.append(citationList(m.citations || []));
  }
}

export function showConversation(conversation) {
  $("conversation").replaceChildren($("hint"));
  $("hint").hidden = conversation.messages.length > 0;
  for (const m of conversation.messages) showStored(m);
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
  return hasString(key) ? t(key) : status;
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

export async function ask(question) {
  clearError();
  const target = askTarget();
  if (target.error) {
    showError(target.error);
    return; // the question stays in the box
  }
  const conversation = state.conversation;
  const history = conversation.messages.map((m) => ({ role: m.role, content: m.content }));
  $("question").value = "";
  const user = addMessage("user", question);
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
  // Before any of the answer arrived, a failure gives the question back: the box holds it again.
  const giveBack = (message, retry) => {
    user.msg.remove();
    msg.remove();
    $("hint").hidden = conversation.messages.length > 0;
    $("question").value = question;
    showError(message, retry);
  };
  try {
    const response = await request("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: $("mode").value, messages: [...history, { role: "user", content: question }], stream: true, ...target }),
      signal: state.controller.signal,
    });
    if (!response.ok) {
      const error = await errorFrom(response);
      giveBack(`${error.message}\n${t("kept_question")}`, error.status >= 500 ? () => ask(question) : null);
      return;
    }
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
    const citations = final.citations || [];
    const html = final.longdoc?.answer_html || "";
    renderAnswer(body, answer, html, citations);
    msg.append(citationList(citations));
    const skipped = final.longdoc?.errors || []; // documents that could not be used
    if (skipped.length) showError(skipped.join("\n"));
    conversation.messages.push({ role: "user", content: question }, { role: "assistant", content: answer, html, citations });
    conversations.save(conversation);
    document.dispatchEvent(new CustomEvent("longdoc:saved"));
  } catch (e) {
    if (e.name === "AbortError") {
      body.textContent = `${answer} ${t("stopped")}`;
    } else if (e instanceof NetworkError || !answer) {
      giveBack(e instanceof NetworkError ? t("network_ask") : `${e.message}\n${t("kept_question")}`, () => ask(question));
    } else {
      msg.classList.add("failed");
      body.textContent = answer;
      showError(e.message, () => ask(question));
    }
  } finally {
    clearInterval(tick);
    msg.classList.remove("streaming");
    $("progress").hidden = true;
    setBusy(false);
    state.controller = null;
  }
}

export function setBusy(busy) {
  $("ask").disabled = busy || !state.ready;
  $("stop").hidden = !busy;
  $("question").disabled = busy;
}

// The answer as the server's cleaned HTML (plain text when there is none), its
// [n] markers turned into buttons that open the cited passage.
function renderAnswer(body, text, html, citations) {
  const byN = new Map(citations.map((c) => [c.n, c]));
  if (html) {
    body.innerHTML = html; // cleaned by the server (nh3): no scripts, no attributes but links
    body.classList.add("md");
  } else {
    body.textContent = text;
  }
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.parentElement.closest("code, pre") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const s = node.textContent;
    if (!MARKERS.test(s)) continue;
    MARKERS.lastIndex = 0;
    const parts = [];
    let last = 0;
    for (const m of s.matchAll(MARKERS)) {
      parts.push(s.slice(last, m.index), "[");
      m[1].split(/[,，]/).map((d) => Number(d.trim())).forEach((n, i) => {
        if (i) parts.push(", ");
        const c = byN.get(n);
        parts.push(c ? el("button", { type: "button", class: "marker", text: String(n), onclick: () => openPassage(c) }) : String(n));
      });
      parts.push("]");
      last = m.index + m[0].length;
    }
    parts.push(s.slice(last));
    node.replaceWith(...parts);
  }
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
