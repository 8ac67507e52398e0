// Conversations, kept in this browser (localStorage), so they survive a reload:
// the list, the one shown, and delete. The server keeps none (docs/server.md).
import { $, el } from "./dom.js";
import { t } from "./i18n.js";
import { state } from "./state.js";

const KEY = "longdoc.conversations";
const CURRENT = "longdoc.conversation";
const MAX_KEPT = 100; // the oldest go first once there are more

function readAll() {
  try {
    const all = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(all) ? all : [];
  } catch (_) {
    return []; // a damaged entry is dropped rather than breaking the page
  }
}

function writeAll(all) {
  const kept = all.sort((a, b) => b.updated - a.updated).slice(0, MAX_KEPT);
  try {
    localStorage.setItem(KEY, JSON.stringify(kept));
  } catch (_) {
    // Storage full: drop the oldest half and try once more.
    localStorage.setItem(KEY, JSON.stringify(kept.slice(0, Math.ceil(kept.length / 2))));
  }
}

export function blank() {
  return { id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`, title: "", updated: Date.now(), messages: [] };
}

export function restore() {
  const id = localStorage.getItem(CURRENT);
  return readAll().find((c) => c.id === id) || blank();
}

export function save(conversation) {
  conversation.updated = Date.now();
  if (!conversation.title) {
    const first = conversation.messages.find((m) => m.role === "user")?.content || "";
    conversation.title = first.length > 80 ? `${first.slice(0, 79)}…` : first;
  }
  writeAll([conversation, ...readAll().filter((c) => c.id !== conversation.id)]);
  localStorage.setItem(CURRENT, conversation.id);
}

export function remove(id) {
  writeAll(readAll().filter((c) => c.id !== id));
}

export function select(conversation) {
  state.conversation = conversation;
  localStorage.setItem(CURRENT, conversation.id);
}

// The list in the side panel; `open(c)` shows one, `drop(c)` deletes it.
export function renderList(open, drop) {
  const all = readAll();
  const items = all.map((c) => el("li", { class: `chat-item${state.conversation?.id === c.id ? " current" : ""}`, "data-id": c.id },
    el("button", { type: "button", class: "open", title: c.title, text: c.title || t("untitled"), onclick: () => open(c) }),
    el("button", {
      type: "button", class: "ghost icon", title: t("delete_chat"), "aria-label": `${t("delete_chat")}: ${c.title}`,
      text: "×", onclick: () => drop(c),
    })));
  $("chat-list").replaceChildren(...items);
  $("no-chats").hidden = all.length > 0;
}
