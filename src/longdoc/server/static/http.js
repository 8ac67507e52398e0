// Calls to the server: the token and the page's language go with every request,
// and failures come back as errors whose message a person can act on.
import { $ } from "./dom.js";
import { t } from "./i18n.js";
import { state } from "./state.js";

// The server could not be reached at all (it is down, or the network is).
export class NetworkError extends Error {}

export function headers(extra = {}) {
  const h = { "Accept-Language": state.lang === "zh" ? "zh-CN" : "en", ...extra };
  if (state.token) h.Authorization = `Bearer ${state.token}`;
  return h;
}

export async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body.error?.message || message;
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 401) $("token-form").hidden = false;
  const error = new Error(message);
  error.status = response.status;
  return error;
}

export async function request(path, options = {}) {
  try {
    return await fetch(path, { ...options, headers: headers(options.headers || {}) });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new NetworkError(t("network"));
  }
}

export async function api(path, options = {}) {
  const response = await request(path, options);
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

export function sendJson(path, method, body) {
  return api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}
