// The longdoc page: documents and collections, questions streamed over the
// OpenAI-compatible API, citations that open their passage or PDF page, and
// conversations kept in the browser. Every text from the server or a document
// goes in as text; the one HTML it inserts is an answer the server has cleaned.
import { setUpBanners, showError, showStatus } from "./banners.js";
import { ask, setBusy, showConversation } from "./chat.js";
import * as conversations from "./conversations.js";
import { $, el, formatSize } from "./dom.js";
import { t, translatePage } from "./i18n.js";
import { api, NetworkError } from "./http.js";
import { refreshFiles, renderFiles, setUpLibrary } from "./library.js";
import { setUpPassage } from "./passage.js";
import { state } from "./state.js";

const READY_POLL_MS = 1500;

function applyLanguage() {
  translatePage();
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
  renderChats();
  renderReady();
}

function fillModes(modes, fallback) {
  const select = $("mode");
  const saved = localStorage.getItem("longdoc.mode");
  const ids = modes.map((m) => m.id);
  select.replaceChildren(...ids.map((id) => el("option", { value: id, text: id })));
  select.value = ids.includes(saved) ? saved : fallback;
}

// GET /ready: while the model loads, say so and hold the Ask button; then let go.
let readiness = null; // the last /ready body, or "unreachable"

async function checkReady() {
  try {
    const response = await fetch("/ready");
    readiness = await response.json();
  } catch (_) {
    readiness = "unreachable";
  }
  state.ready = readiness?.status === "ready";
  renderReady();
  if (readiness === "unreachable" || readiness.status === "loading") setTimeout(checkReady, READY_POLL_MS);
}

function renderReady() {
  if (readiness === "unreachable") showStatus(t("network"));
  else if (readiness?.status === "loading") showStatus(t("model_loading"));
  else if (readiness?.status === "failed") showStatus(t("model_failed", { reason: readiness.reason || "" }));
  else showStatus("");
  setBusy(Boolean(state.controller));
}

function renderChats() {
  conversations.renderList(openConversation, deleteConversation);
}

function openConversation(c) {
  state.controller?.abort();
  conversations.select(c);
  showConversation(c);
  renderChats();
}

function deleteConversation(c) {
  conversations.remove(c.id);
  if (state.conversation?.id === c.id) newConversation();
  else renderChats();
}

function newConversation() {
  state.controller?.abort();
  openConversation(conversations.blank());
  $("question").focus();
}

async function start() {
  setUpBanners();
  setUpLibrary();
  setUpPassage();
  state.conversation = conversations.restore();
  showConversation(state.conversation);
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("longdoc.lang", state.lang);
    applyLanguage();
    refreshFiles(); // failure reasons come in the new language
  });
  $("mode").addEventListener("change", () => localStorage.setItem("longdoc.mode", $("mode").value));
  $("new-chat").addEventListener("click", newConversation);
  document.addEventListener("longdoc:saved", renderChats);
  $("stop").addEventListener("click", () => state.controller?.abort());
  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const question = $("question").value.trim();
    if (question && !state.controller && state.ready) ask(question);
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
    refreshFiles();
  });

  setBusy(false);
  applyLanguage();
  checkReady();
  try {
    state.info = await api("/v1/info");
  } catch (e) {
    showError(e instanceof NetworkError ? t("network") : e.message, () => location.reload());
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
