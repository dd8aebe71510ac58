/* parasearch document view: highlight the cited paragraph (#para-14), copy a citation with one click, and keep
 * the language switch's links at the paragraph the reader is at (the server cannot: it never sees the #para-14). */
"use strict";

(() => {
  const statusEl = document.getElementById("copy-status");

  function target() {
    let id = "";
    try { id = decodeURIComponent(window.location.hash.slice(1)); } catch { id = window.location.hash.slice(1); }
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

  function highlight(scroll) {
    for (const old of document.querySelectorAll(".para.cited")) old.classList.remove("cited");
    const para = target();
    updateVersionLinks(para);
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

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const text = button.dataset.citation;
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

  window.addEventListener("hashchange", () => highlight(true));
  highlight(true);
})();
