// The citation viewer: the cited passage as text with the quote marked, and for
// PDFs the cited page itself, rendered by the server, with the quote highlighted.
import { $, el } from "./dom.js";
import { t } from "./i18n.js";
import { api, errorFrom, request } from "./http.js";

let opened = 0; // which opening the loads in flight belong to
let pageUrl = null; // the page image's object URL, released when the dialog closes

export function where(c) {
  const parts = [c.file];
  if (c.page != null) parts.push(t("page", { page: c.page }));
  return parts.join(" · ");
}

export async function openPassage(c) {
  const mine = ++opened;
  const dialog = $("passage");
  $("passage-title").textContent = `[${c.n}] ${c.file}`;
  $("passage-where").textContent = where(c);
  $("passage-quote").textContent = c.text;
  $("passage-text").replaceChildren();
  showTabs(false);
  if (!dialog.open) dialog.showModal();
  if (!c.file_id) return;
  let p;
  try {
    p = await api(`/v1/files/${encodeURIComponent(c.file_id)}/passages/${encodeURIComponent(c.chunk_id)}`);
  } catch (e) {
    $("passage-text").textContent = t("passage_missing", { reason: e.message });
    return;
  }
  if (mine !== opened) return;
  const place = [c.file];
  const page = c.page ?? p.page;
  if (page != null) place.push(p.page_end && p.page_end !== p.page && c.page == null ? t("pages", { page: p.page, end: p.page_end }) : t("page", { page }));
  if (p.heading.length) place.push(p.heading.join(" › "));
  place.push(t("passage_n", { n: p.index + 1 }));
  $("passage-where").textContent = place.join(" · ");
  $("passage-text").replaceChildren(...highlighted(p.text.trim(), c.text));
  if (p.format === "pdf" && page != null) {
    showTabs(true);
    selectTab("page");
    loadPage(c, page, mine);
  } else {
    $("passage-text").querySelector("mark")?.scrollIntoView({ block: "center" });
  }
}

function showTabs(pdf) {
  $("passage-tabs").hidden = !pdf;
  $("passage-page").hidden = !pdf;
  $("passage-context").hidden = false;
  if (!pdf) $("page-frame").replaceChildren();
}

function selectTab(which) {
  $("tab-page").setAttribute("aria-selected", String(which === "page"));
  $("tab-text").setAttribute("aria-selected", String(which === "text"));
  $("passage-page").hidden = which !== "page";
  $("passage-context").hidden = which !== "text";
  if (which === "text") $("passage-text").querySelector("mark")?.scrollIntoView({ block: "center" });
}

async function loadPage(c, page, mine) {
  const frame = $("page-frame");
  frame.replaceChildren();
  $("page-note").textContent = t("page_loading", { page });
  const base = `/v1/files/${encodeURIComponent(c.file_id)}/pages/${page}`;
  try {
    // Fetched rather than linked: with a token, an <img src> could not send it.
    const [image, found] = await Promise.all([
      request(`${base}/image`).then(async (r) => { if (!r.ok) throw await errorFrom(r); return r.blob(); }),
      api(`${base}/quote?text=${encodeURIComponent(c.text.replace(/…$/, ""))}`),
    ]);
    if (mine !== opened) return;
    releasePage();
    pageUrl = URL.createObjectURL(image);
    const img = el("img", { src: pageUrl, alt: t("page_alt", { page, file: c.file }) });
    const hits = found.boxes.map((b) => {
      const hit = el("div", { class: "hit" });
      Object.assign(hit.style, { left: pct(b.x), top: pct(b.y), width: pct(b.w), height: pct(b.h) });
      return hit;
    });
    frame.replaceChildren(img, ...hits);
    $("page-note").textContent = hits.length ? t("page_found", { page }) : t("page_not_found", { page });
    img.addEventListener("load", () => (hits[0] || img).scrollIntoView({ block: "center" }), { once: true });
  } catch (e) {
    if (mine !== opened) return;
    $("page-note").textContent = t("page_failed", { reason: e.message });
    selectTab("text");
  }
}

function pct(fraction) {
  return `${(fraction * 100).toFixed(3)}%`;
}

function releasePage() {
  if (pageUrl) URL.revokeObjectURL(pageUrl);
  pageUrl = null;
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

export function setUpPassage() {
  const dialog = $("passage");
  $("passage-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });
  dialog.addEventListener("close", () => {
    opened += 1;
    releasePage();
    $("page-frame").replaceChildren();
  });
  $("tab-page").addEventListener("click", () => selectTab("page"));
  $("tab-text").addEventListener("click", () => selectTab("text"));
}
