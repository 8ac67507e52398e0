// The documents: uploads (files, or whole folders with their paths), the list
// with indexing status, and collections (named groups asked as one).
import { clearError, clearNotice, showError, showNotice } from "./banners.js";
import { $, el, formatSize } from "./dom.js";
import { t } from "./i18n.js";
import { api, headers, sendJson } from "./http.js";
import { state } from "./state.js";

const PARALLEL_UPLOADS = 3;
const queue = [];
let running = 0;

function currentCollection() {
  return state.collections.find((c) => c.id === state.collection) || null;
}

function shownFiles() {
  const c = currentCollection();
  return c ? state.files.filter((f) => c.file_ids.includes(f.id)) : state.files;
}

// What a question is asked over: {collection_id} or {file_ids}, or {error} saying what to do.
export function askTarget() {
  const c = currentCollection();
  if (c) {
    const ready = shownFiles().some((f) => f.status === "ready");
    return ready ? { collection_id: c.id } : { error: t("no_ready_in_collection", { name: c.name }) };
  }
  const ids = state.files.filter((f) => f.status === "ready" && !state.unticked.has(f.id)).map((f) => f.id);
  if (ids.length) return { file_ids: ids };
  return { error: state.files.length ? t("no_selection") : t("no_documents") };
}

export function renderFiles() {
  const c = currentCollection();
  const files = shownFiles();
  $("files").replaceChildren(...files.map((f) => fileRow(f, c)));
  $("no-files").textContent = c ? t("no_files_collection") : t("no_files");
  $("no-files").hidden = files.length > 0 || $("uploads").children.length > 0;
  $("scope").textContent = c ? t("scope_collection", { name: c.name }) : t("scope_all");
  $("collection-delete").hidden = !c;
  renderCollectionPicker();
  renderAddExisting(c);
}

function fileRow(f, collection) {
  const ready = f.status === "ready";
  const shown = f.path || f.filename;
  const folder = shown.includes("/") ? shown.slice(0, shown.lastIndexOf("/")) : "";
  const meta = [folder, formatSize(f.bytes)].filter(Boolean);
  if (ready) meta.push(t(f.chunks === 1 ? "chunk" : "chunks", { chunks: f.chunks }));
  const action = collection
    ? { title: t("remove_from_collection"), run: () => removeFromCollection(collection, f) }
    : { title: t("delete"), run: () => deleteFile(f) };
  const row = el("li", { class: `file ${f.status}${collection ? " no-tick" : ""}`, "data-id": f.id });
  if (!collection) {
    const tick = el("input", { type: "checkbox", "aria-label": shown });
    tick.checked = ready && !state.unticked.has(f.id);
    tick.disabled = !ready;
    tick.addEventListener("change", () => (tick.checked ? state.unticked.delete(f.id) : state.unticked.add(f.id)));
    row.append(tick);
  }
  row.append(
    el("div", { class: "file-main" },
      el("span", { class: "file-name", text: f.filename, title: shown }),
      el("span", { class: "file-meta muted", text: meta.join(" · ") })),
    el("span", { class: `badge ${f.status}`, text: t(`status_${f.status}`) }),
    el("button", {
      type: "button", class: "ghost icon", title: action.title, "aria-label": `${action.title}: ${shown}`,
      text: "×", onclick: action.run,
    }));
  if (f.status === "failed") row.append(el("p", { class: "reason", text: f.status_details || "" }));
  return row;
}

function renderCollectionPicker() {
  const select = $("collection");
  const options = [el("option", { value: "", text: t("all_documents") }),
    ...state.collections.map((c) => el("option", { value: c.id, text: `${c.name} (${c.file_ids.length})` }))];
  select.replaceChildren(...options);
  select.value = currentCollection() ? state.collection : "";
}

function renderAddExisting(collection) {
  const others = collection ? state.files.filter((f) => !collection.file_ids.includes(f.id)) : [];
  $("add-existing-row").hidden = !others.length;
  $("add-existing").replaceChildren(el("option", { value: "", text: t("add_choose") }),
    ...others.map((f) => el("option", { value: f.id, text: f.path || f.filename })));
}

export async function refreshFiles() {
  try {
    const [files, collections] = await Promise.all([api("/v1/files"), api("/v1/collections")]);
    state.files = files.data;
    state.collections = collections.data;
    renderFiles();
  } catch (e) {
    showError(e.message);
  }
  clearTimeout(state.pollTimer);
  if (state.files.some((f) => f.status === "queued" || f.status === "indexing")) state.pollTimer = setTimeout(refreshFiles, 700);
}

async function deleteFile(f) {
  if (!confirm(t("delete_confirm", { name: f.path || f.filename }))) return;
  try {
    await api(`/v1/files/${encodeURIComponent(f.id)}`, { method: "DELETE" });
  } catch (e) {
    showError(e.message);
  }
  refreshFiles();
}

async function removeFromCollection(c, f) {
  try {
    await api(`/v1/collections/${c.id}/files/${encodeURIComponent(f.id)}`, { method: "DELETE" });
  } catch (e) {
    showError(e.message);
  }
  refreshFiles();
}

function selectCollection(id) {
  state.collection = id;
  localStorage.setItem("longdoc.collection", id);
  renderFiles();
}

// ---- uploads ---------------------------------------------------------------------

function suffixOf(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

// [{file, path}]: the supported ones are uploaded, the rest listed as skipped.
export function uploadAll(items) {
  clearError();
  clearNotice();
  const types = state.info?.file_types || [];
  const visible = items.filter(({ file, path }) => !(path || file.name).split("/").some((p) => p.startsWith(".")));
  const skipped = visible.filter(({ file }) => types.length && !types.includes(suffixOf(file.name)));
  const wanted = visible.filter((item) => !skipped.includes(item));
  if (skipped.length && items.some((i) => i.path)) {
    const names = skipped.slice(0, 6).map(({ file, path }) => path || file.name).join(", ");
    showNotice(t("skipped", { n: skipped.length, names: skipped.length > 6 ? `${names}, …` : names }), true);
  } else if (skipped.length) {
    showError(skipped.map(({ file }) => t("not_supported", { name: file.name, types: types.join(" ") })).join("\n"));
  }
  for (const item of wanted) {
    if (state.info && item.file.size > state.info.max_upload_bytes) {
      showError(t("too_big", { name: item.file.name, size: formatSize(state.info.max_upload_bytes) }));
      continue;
    }
    queue.push({ ...item, collection: state.collection });
  }
  pump();
}

function pump() {
  while (running < PARALLEL_UPLOADS && queue.length) {
    running += 1;
    upload(queue.shift()).finally(() => {
      running -= 1;
      if (queue.length) pump();
      else if (!running) refreshFiles();
    });
  }
}

// One request per file, so each gets its own progress bar and its own error.
function upload({ file, path, collection }) {
  const shown = path || file.name;
  const bar = el("progress", { max: "100", value: "0" });
  const label = el("span", { class: "muted", text: t("uploading", { pct: 0 }) });
  const row = el("li", { class: "upload" }, el("span", { class: "file-name", text: shown }), label, bar);
  $("uploads").append(row);
  $("no-files").hidden = true;
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/files");
    for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.round((100 * e.loaded) / e.total);
      bar.value = pct;
      label.textContent = t("uploading", { pct });
    });
    const finish = (reason) => {
      row.remove();
      if (reason) showError(t("upload_failed", { name: shown, reason }));
      resolve();
    };
    xhr.addEventListener("load", () => {
      if (xhr.status === 200) {
        const body = JSON.parse(xhr.responseText);
        const existing = body.path || body.filename;
        if (body.duplicate) {
          showNotice(existing === shown ? t("duplicate_same", { name: shown }) : t("duplicate", { name: shown, existing }), true);
        }
        return finish(null);
      }
      let reason = `${xhr.status} ${xhr.statusText}`;
      try { reason = JSON.parse(xhr.responseText).error.message || reason; } catch (_) { /* keep the status */ }
      if (xhr.status === 401) $("token-form").hidden = false;
      finish(reason);
    });
    xhr.addEventListener("error", () => finish(t("network")));
    const form = new FormData();
    form.append("file", file, file.name);
    if (path) form.append("path", path);
    if (collection) form.append("collection_id", collection);
    xhr.send(form);
  });
}

// Dropped items, folders walked: [{file, path}], path set for files inside a folder.
async function droppedItems(dataTransfer) {
  // Entries must be taken before the first await: the drop's data is gone after it.
  const entries = [...dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.some((e) => e.isDirectory)) return [...dataTransfer.files].map((file) => ({ file, path: "" }));
  const out = [];
  async function walk(entry, prefix) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: prefix ? `${prefix}${entry.name}` : "" });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  }
  for (const entry of entries) await walk(entry, "");
  return out;
}

export function setUpLibrary() {
  const drop = $("drop");
  const input = $("file-input");
  input.addEventListener("change", () => {
    uploadAll([...input.files].map((file) => ({ file, path: "" })));
    input.value = "";
  });
  const folder = $("folder-input");
  $("folder-button").addEventListener("click", () => folder.click());
  folder.addEventListener("change", () => {
    uploadAll([...folder.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    folder.value = "";
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
  drop.addEventListener("drop", async (e) => uploadAll(await droppedItems(e.dataTransfer)));
  // A file dropped beside the box would otherwise replace the page with the file.
  for (const name of ["dragover", "drop"]) window.addEventListener(name, (e) => e.preventDefault());

  $("collection").addEventListener("change", () => selectCollection($("collection").value));
  $("collection-new").addEventListener("click", () => {
    $("collection-form").hidden = false;
    $("collection-name").focus();
  });
  $("collection-cancel").addEventListener("click", () => { $("collection-form").hidden = true; });
  $("collection-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const c = await sendJson("/v1/collections", "POST", { name: $("collection-name").value });
      $("collection-form").hidden = true;
      $("collection-name").value = "";
      state.collections.push(c);
      selectCollection(c.id);
    } catch (err) {
      showError(err.message);
    }
  });
  $("collection-delete").addEventListener("click", async () => {
    const c = currentCollection();
    if (!c || !confirm(t("collection_delete_confirm", { name: c.name }))) return;
    try {
      await api(`/v1/collections/${c.id}`, { method: "DELETE" });
    } catch (err) {
      showError(err.message);
    }
    selectCollection("");
    refreshFiles();
  });
  $("add-existing").addEventListener("change", async () => {
    const c = currentCollection();
    const id = $("add-existing").value;
    if (!c || !id) return;
    try {
      await sendJson(`/v1/collections/${c.id}/files`, "POST", { file_ids: [id] });
    } catch (err) {
      showError(err.message);
    }
    refreshFiles();
  });
}
