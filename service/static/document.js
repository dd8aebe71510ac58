/* parasearch document view: highlight the cited paragraph (#para-14), copy a citation with one click (with the
 * document's title, date and a link to the paragraph), keep the language switch's links at the paragraph the reader
 * is at (the server cannot: it never sees the #para-14), say so when the paragraph asked for is not in the document,
 * and point out the version in the reader's preferred language (chosen on the search page, kept in localStorage). */
"use strict";

(() => {
  // The interface language (i18n.js, loaded first); the document's own text is never translated.
  const I18N = window.parasearchI18n;
  const t = (key, vars) => I18N.t(key, vars);
  const statusEl = document.getElementById("copy-status");
  const head = document.getElementById("doc-head");
  const notice = document.getElementById("para-notice");
  const PREFERRED = "parasearch.language";

  // Paragraphs scrolled to stop below the sticky header, not under it.
  function fitHeader() {
    if (head) document.documentElement.style.setProperty("--head-h", `${Math.ceil(head.offsetHeight)}px`);
  }

  function hashId() {
    try { return decodeURIComponent(window.location.hash.slice(1)); } catch { return window.location.hash.slice(1); }
  }

  function target() {
    const id = hashId();
    if (!id) return null;
    // "#para-14" is the anchor; "#14" and "#preamble-3" are accepted too.
    const found = document.getElementById(id) || document.getElementById(`para-${id}`);
    return found && found.classList.contains("para") ? found : null;
  }

  // The other language versions' links: the same paragraph's anchor as this page's URL, or none.
  function updateVersionLinks(para) {
    for (const link of document.querySelectorAll("nav.versions a.version")) {
      const base = link.getAttribute("href").split("#")[0];
      link.setAttribute("href", para ? `${base}#${encodeURIComponent(para.id)}` : base);
    }
  }

  // A link to a paragraph the document does not have: say so, rather than silently showing the top.
  function missingNotice(para) {
    if (!notice) return;
    const id = hashId();
    const wanted = id.replace(/^para-/, "");
    const missing = Boolean(id) && !para && document.querySelector(".paragraphs .para") !== null
      && !document.getElementById(id);
    notice.hidden = !missing;
    notice.textContent = missing ? t("doc.missing", { para: wanted }) : "";
    if (missing) {
      notice.lang = I18N.lang;
      notice.dir = I18N.dir;
    }
  }

  function highlight(scroll) {
    for (const old of document.querySelectorAll(".para.cited")) old.classList.remove("cited");
    const para = target();
    updateVersionLinks(para);
    missingNotice(para);
    if (!para) return;
    para.classList.add("cited");
    if (scroll) para.scrollIntoView({ block: "center" });
    // Move the keyboard and screen-reader position to the cited paragraph.
    para.focus({ preventScroll: true });
  }

  function fallbackCopy(text) {
    const previous = document.activeElement;
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
    if (previous && previous.focus) previous.focus({ preventScroll: true }); // keep the keyboard position
    return ok;
  }

  async function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch { /* permission refused: try the old way */ }
    }
    return fallbackCopy(text);
  }

  function showManualCopy(button, text) {
    // Neither clipboard route worked: show the citation selected, for Ctrl+C / long-press.
    let field = button.parentElement.querySelector(".manual-copy");
    if (!field) {
      field = document.createElement("input");
      field.className = "manual-copy";
      field.readOnly = true;
      field.setAttribute("aria-label", t("doc.manualCopy"));
      button.after(field);
    }
    field.value = text;
    field.focus();
    field.select();
  }

  // What the copy button copies: the citation, the document's title and date, and a link to the paragraph.
  function citationText(button) {
    const url = new URL(window.location.href);
    url.hash = button.dataset.para ? `para-${encodeURIComponent(button.dataset.para)}` : "";
    const about = [head && head.dataset.title, head && head.dataset.date].filter(Boolean).join(", ");
    return `${button.dataset.citation}${about ? ` — ${about}` : ""}. ${url.href}`;
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const text = citationText(button);
    if (await copy(text)) {
      button.textContent = t("doc.copied");
      button.classList.add("done");
      statusEl.textContent = t("doc.copiedStatus", { text });
      window.setTimeout(() => {
        button.textContent = t("doc.copy");
        button.classList.remove("done");
      }, 2000);
    } else {
      statusEl.textContent = t("doc.copyBlocked");
      showManualCopy(button, text);
    }
  });

  // Back to the search that led here, when there was one.
  const back = document.getElementById("back-link");
  try {
    const ref = new URL(document.referrer);
    const searchPage = new URL(back.getAttribute("href"), window.location.href);
    if (ref.origin === searchPage.origin && ref.pathname === searchPage.pathname && ref.search) back.href = ref.href;
  } catch { /* no referrer */ }

  // The version in the reader's preferred language, when this is another: marked in the switch.
  let preferred = null;
  try { preferred = window.localStorage.getItem(PREFERRED); } catch { preferred = null; }
  if (preferred) {
    const link = document.querySelector(`nav.versions a.version[data-language="${CSS.escape(preferred)}"]`);
    if (link) {
      link.classList.add("preferred");
      link.append(" ", Object.assign(document.createElement("span"), { className: "your-language" }));
    }
  }

  // The interface strings the server renders without a data-i18n key of their own (one copy button a paragraph:
  // labelled here from its citation), the date, the not-found page's title; again when the language changes.
  const dateEl = document.querySelector("time.doc-date");
  function translate() {
    statusEl.lang = I18N.lang;
    for (const button of document.querySelectorAll("button.copy")) {
      if (!button.classList.contains("done")) button.textContent = t("doc.copy");
      button.setAttribute("aria-label", t("doc.copyAria", { citation: button.dataset.citation }));
      const context = button.parentElement.closest("[lang]");
      if (!context || context.getAttribute("lang") !== I18N.lang) {
        button.lang = I18N.lang;
        button.dir = I18N.dir;
      } else {
        button.removeAttribute("lang");
        button.removeAttribute("dir");
      }
    }
    for (const field of document.querySelectorAll(".manual-copy")) field.setAttribute("aria-label", t("doc.manualCopy"));
    for (const span of document.querySelectorAll("nav.versions .your-language")) {
      span.textContent = t("doc.yourLanguage");
      span.lang = I18N.lang;
    }
    if (dateEl) dateEl.textContent = I18N.date(dateEl.getAttribute("datetime"));
    if (document.querySelector('[data-i18n="notFound.title"]')) document.title = t("notFound.pageTitle");
  }
  translate();
  document.addEventListener("parasearch:lang", () => {
    translate();
    missingNotice(target());
    fitHeader();
  });

  fitHeader();
  window.addEventListener("resize", fitHeader);
  window.addEventListener("hashchange", () => highlight(true));
  highlight(true);
})();
