/* parasearch document view: highlight the cited paragraph (#para-14), copy a citation with one click (with the
 * document's title, date and a link to the paragraph), keep the language switch's links at the paragraph the reader
 * is at (the server cannot: it never sees the #para-14), say so when the paragraph asked for is not in the document,
 * and point out the version in the reader's preferred language (chosen on the search page, kept in localStorage). */
"use strict";

(() => {
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
    notice.textContent = missing
      ? `This document has no paragraph “${wanted}”: it is shown from the start. Its numbered paragraphs are `
        + "marked in the margin." : "";
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
      field.setAttribute("aria-label", "Citation: press Control+C to copy");
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
    const label = button.textContent;
    if (await copy(text)) {
      button.textContent = "Copied";
      button.classList.add("done");
      statusEl.textContent = `Copied: ${text}`;
      window.setTimeout(() => {
        button.textContent = label === "Copied" ? "Copy citation" : label;
        button.classList.remove("done");
      }, 2000);
    } else {
      statusEl.textContent = "Copying is blocked here: the citation is selected, press Control+C.";
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
      link.append(document.createTextNode(" (your language)"));
    }
  }

  fitHeader();
  window.addEventListener("resize", fitHeader);
  window.addEventListener("hashchange", () => highlight(true));
  highlight(true);
})();
