// What the page's modules share: one object, changed only through the functions that own each part.

function initialLanguage() {
  const saved = localStorage.getItem("longdoc.lang");
  if (saved === "en" || saved === "zh") return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export const state = {
  lang: initialLanguage(),
  token: sessionStorage.getItem("longdoc.token") || "",
  info: null,
  ready: false, // the model is loaded (GET /ready)
  files: [],
  collections: [],
  collection: localStorage.getItem("longdoc.collection") || "", // the collection shown and asked; "" = all documents
  unticked: new Set(), // ids the user unticked; new ready files start ticked
  conversation: null, // the one shown: {id, title, updated, messages}
  controller: null, // aborts the question being answered
  pollTimer: null,
};
