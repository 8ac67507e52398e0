// The page's banners: an error (with a retry where one makes sense), a notice,
// and the model's status while it loads.
import { $ } from "./dom.js";

let retryAction = null;

export function showError(message, retry = null) {
  $("error-text").textContent = message;
  retryAction = retry;
  $("error-retry").hidden = !retry;
  $("error").hidden = false;
}

export function clearError() {
  $("error").hidden = true;
  retryAction = null;
}

// A notice; with `add`, one more line under those already shown (an upload of many files).
export function showNotice(message, add = false) {
  const shown = !$("notice").hidden && add ? $("notice-text").textContent.split("\n") : [];
  if (!shown.includes(message)) shown.push(message);
  $("notice-text").textContent = shown.join("\n");
  $("notice").hidden = false;
}

export function clearNotice() {
  $("notice").hidden = true;
}

export function showStatus(message) {
  $("status-text").textContent = message || "";
  $("status").hidden = !message;
}

export function setUpBanners() {
  $("error-close").addEventListener("click", clearError);
  $("notice-close").addEventListener("click", () => { $("notice").hidden = true; });
  $("error-retry").addEventListener("click", () => {
    const action = retryAction;
    clearError();
    action?.();
  });
}
