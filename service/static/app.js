/* parasearch search page: plain JavaScript, no framework.
 *
 * The query and filters live in the URL (?q=...&body=...&from=2013&to=2014), so a search can be
 * bookmarked and the back button returns to the previous one. Results come from GET /search; a cited
 * answer from POST /answer is shown above them when the service has that endpoint (a 404 turns it off)
 * and never holds the results up.
 *
 * Each result is one paragraph in one language version (`language`): its link opens that version at the
 * paragraph (documents/SYMBOL?language=fr#para-3), a badge says which language it is, and the other versions
 * of the same document (`versions`) are small links to the same paragraph in each.
 *
 * Safety: every string from the server or the user goes into the page with textContent. The one
 * exception is a result's `snippet`, which the server HTML-escapes and marks up with <mark>; even that
 * is rebuilt here from text nodes and <mark> elements only (see safeSnippet).
 */
"use strict";

(() => {
  const K = 10;
  const FILTERS = [
    { param: "body", api: "body", el: "f-body" },
    { param: "type", api: "type", el: "f-type" },
    { param: "language", api: "language", el: "f-language" },
  ];
  const $ = (id) => document.getElementById(id);
  const form = $("search-form");
  const input = $("q");
  const statusEl = $("status");
  const noticeEl = $("notice");
  const resultsEl = $("results");
  const answerEl = $("answer");
  const answerBody = $("answer-body");
  const answerNote = $("answer-note");
  const fromEl = $("f-from");
  const toEl = $("f-to");

  // Does the service compose answers? The page says so (a meta tag); a 404 from POST answer says it does not.
  const features = document.querySelector('meta[name="parasearch-features"]');
  let answerSupported = Promise.resolve(Boolean(features && features.content.split(/\s+/).includes("answer")));
  let current = null; // AbortController of the search in flight
  let shownSearch = window.location.search; // the URL query of the search on screen
  const baseTitle = document.title;

  // -- helpers -----------------------------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null) continue;
        if (key === "className") node.className = value;
        else if (key === "text") node.textContent = value;
        else node.setAttribute(key, value);
      }
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  // A document's view (relative to the service's root, so that it works under a path prefix), in one language
  // version when `language` is given, at a paragraph's anchor when `para` is: the API's `url`, built here.
  function documentHref(symbol, para, language) {
    const path = symbol.split("/").map(encodeURIComponent).join("/");
    return `documents/${path}` + (language ? `?language=${encodeURIComponent(language)}` : "")
      + (para ? `#para-${encodeURIComponent(para)}` : "");
  }

  // The server escapes the snippet and adds <mark>; keep exactly text and <mark>, nothing else.
  function safeSnippet(markup) {
    const tpl = document.createElement("template");
    tpl.innerHTML = markup; // inert: a template's content runs no script and loads nothing
    const out = document.createDocumentFragment();
    for (const node of tpl.content.childNodes) {
      if (node.nodeType === Node.ELEMENT_NODE && node.nodeName === "MARK") {
        out.append(el("mark", { text: node.textContent }));
      } else {
        out.append(document.createTextNode(node.textContent || ""));
      }
    }
    return out;
  }

  function announce(message) {
    // Clear first so that the same message twice is announced twice.
    statusEl.textContent = "";
    window.setTimeout(() => { statusEl.textContent = message; }, 30);
  }

  const languageNames = (() => {
    try { return new Intl.DisplayNames(["en"], { type: "language" }); } catch { return null; }
  })();
  function languageName(code) {
    try {
      const name = languageNames && languageNames.of(code);
      return name && name !== code ? name : null;
    } catch {
      return null;
    }
  }
  function languageLabel(code) {
    const name = languageName(code);
    return name ? `${name} (${code})` : code;
  }

  // "FR": the language of the version a result or citation shows.
  function languageBadge(code) {
    if (!code) return null;
    return el("abbr", { className: "lang-badge", lang: "en", title: languageName(code) || code,
      text: code.toUpperCase() });
  }

  // The other language versions of a result, as small links to the same paragraph in each.
  function versionLinks(r) {
    if (!Array.isArray(r.versions) || !r.versions.length) return null;
    const p = el("p", { className: "versions" }, "Other languages: ");
    r.versions.forEach((v, i) => {
      if (i) p.append(" ");
      const name = languageName(v.language) || v.language;
      p.append(el("a", { className: "version", href: documentHref(r.symbol, r.para, v.language),
        hreflang: v.language, "data-language": v.language, title: `${r.citation}, ${name}`,
        "aria-label": `${name}: ${r.citation}`, text: v.language.toUpperCase() }));
    });
    return p;
  }

  // -- URL <-> form ------------------------------------------------------------------------------
  function paramsFromForm() {
    const p = new URLSearchParams();
    const q = input.value.trim();
    if (q) p.set("q", q);
    for (const f of FILTERS) {
      const v = $(f.el).value;
      if (v) p.set(f.param, v);
    }
    if (fromEl.value.trim()) p.set("from", fromEl.value.trim());
    if (toEl.value.trim()) p.set("to", toEl.value.trim());
    return p;
  }

  function ensureOption(select, value, label) {
    if (![...select.options].some((o) => o.value === value)) {
      select.append(el("option", { value, text: label || value }));
    }
  }

  function fillForm(p) {
    input.value = p.get("q") || "";
    for (const f of FILTERS) {
      const v = p.get(f.param) || "";
      const select = $(f.el);
      if (v) ensureOption(select, v, f.param === "language" ? languageLabel(v) : v);
      select.value = v;
    }
    fromEl.value = p.get("from") || "";
    toEl.value = p.get("to") || "";
    updateFilterCount(p);
  }

  function updateFilterCount(p) {
    const n = ["body", "type", "language", "from", "to"].filter((k) => p.get(k)).length;
    $("filter-count").textContent = n ? `(${n} active)` : "";
    if (n) $("filters").open = true;
  }

  function yearProblem(p) {
    for (const key of ["from", "to"]) {
      const v = p.get(key);
      if (v && !/^\d{4}$/.test(v)) return `The ${key === "from" ? "first" : "last"} year must have four digits.`;
    }
    if (p.get("from") && p.get("to") && p.get("from") > p.get("to")) {
      return "The first year comes after the last year.";
    }
    return null;
  }

  function searchParams(p) {
    const s = new URLSearchParams({ q: p.get("q"), k: String(K) });
    for (const f of FILTERS) if (p.get(f.param)) s.append(f.api, p.get(f.param));
    if (p.get("from")) s.set("date_from", p.get("from"));
    if (p.get("to")) s.set("date_to", p.get("to"));
    return s;
  }

  function answerFilters(p) {
    const filters = {};
    for (const f of FILTERS) if (p.get(f.param)) filters[f.api] = [p.get(f.param)];
    if (p.get("from")) filters.date_from = p.get("from");
    if (p.get("to")) filters.date_to = p.get("to");
    return filters;
  }

  // -- rendering ---------------------------------------------------------------------------------
  function resultItem(r) {
    const meta = [r.date, r.body, r.type].filter(Boolean).join(" · ");
    const li = el("li", { className: "result", "data-language": r.language },
      el("h3", { className: "citation" },
        el("a", { href: documentHref(r.symbol, r.para, r.language), hreflang: r.language, text: r.citation }),
        languageBadge(r.language)),
      r.title ? el("p", { className: "doc-name", text: r.title }) : null,
      meta ? el("p", { className: "meta", text: meta }) : null,
      r.section && r.section !== r.title ? el("p", { className: "section", text: r.section }) : null,
    );
    const body = el("p", { className: "snippet", lang: r.language });
    body.append(r.snippet ? safeSnippet(r.snippet) : document.createTextNode(r.text));
    li.append(body);
    const versions = versionLinks(r);
    if (versions) li.append(versions);
    if (r.also_in && r.also_in.length) {
      const also = el("p", { className: "also-in" }, "Also in: ");
      r.also_in.forEach((c, i) => {
        if (i) also.append("; ");
        also.append(el("a", { href: documentHref(c.symbol, c.para, c.language), text: c.citation }));
      });
      li.append(also);
    }
    return li;
  }

  function renderResults(data, p) {
    resultsEl.replaceChildren(...data.results.map(resultItem));
    const n = data.results.length;
    const q = p.get("q");
    noticeEl.hidden = !data.notice;
    noticeEl.textContent = data.notice || "";
    announce(n ? `${n} result${n === 1 ? "" : "s"} for “${q}”.` : `No results for “${q}”.`);
  }

  function answerNoteText(method) {
    if (!method) return "";
    if (method.startsWith("extractive")) return "Sentences quoted from the cited paragraphs.";
    if (method.startsWith("llm")) return "Written by a language model from the cited paragraphs: check them.";
    return `Method: ${method}.`;
  }

  function renderAnswer(data) {
    answerBody.replaceChildren();
    answerEl.removeAttribute("aria-busy");
    const sentences = (Array.isArray(data.sentences) ? data.sentences : []).filter((s) => s.supported !== false);
    const para = el("p");
    if (data.found === false || !sentences.length) {
      para.className = "hint";
      para.textContent = data.answer || "";
    } else {
      // A run of sentences citing the same paragraphs shows the citations once, after the run (as `answer` does).
      const key = (s) => (s.citations || []).map((c) => c.citation).join("; ");
      sentences.forEach((s, i) => {
        if (i) para.append(" ");
        para.append(s.text);
        if (i + 1 < sentences.length && key(sentences[i + 1]) === key(s)) return;
        for (const c of s.citations || []) {
          para.append(" ", el("a", { className: "cite-ref", href: documentHref(c.symbol, c.para, c.language),
            hreflang: c.language, text: `[${c.citation}]` }));
        }
      });
    }
    if (!para.textContent.trim()) {
      answerEl.hidden = true;
      return;
    }
    answerBody.append(para);
    answerNote.textContent = data.found === false ? "" : answerNoteText(data.method);
    answerEl.hidden = false;
  }

  async function loadAnswer(p, signal) {
    if (!(await answerSupported) || signal.aborted) {
      answerEl.hidden = true;
      return;
    }
    // Hold the answer's place at once, so that the results do not jump down when it arrives.
    answerBody.replaceChildren(el("p", { className: "hint", text: "Composing a cited answer…" }));
    answerNote.textContent = "";
    answerEl.setAttribute("aria-busy", "true");
    answerEl.hidden = false;
    try {
      const res = await fetch("answer", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ question: p.get("q"), filters: answerFilters(p), mode: "hybrid" }),
        signal,
      });
      if (res.status === 404 || res.status === 405) {
        answerSupported = Promise.resolve(false);
        answerEl.hidden = true;
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      renderAnswer(await res.json());
    } catch (err) {
      if (err.name === "AbortError") return;
      answerEl.hidden = true; // the answer is a bonus: results stand on their own
    }
  }

  async function run(p) {
    if (current) current.abort();
    shownSearch = window.location.search;
    const q = p.get("q");
    document.title = q ? `${q} — parasearch` : baseTitle;
    if (!q) {
      resultsEl.replaceChildren();
      answerEl.hidden = true;
      noticeEl.hidden = true;
      statusEl.textContent = "";
      return;
    }
    const problem = yearProblem(p);
    if (problem) {
      announce(problem);
      statusEl.classList.add("error");
      return;
    }
    statusEl.classList.remove("error");
    current = new AbortController();
    const { signal } = current;
    resultsEl.setAttribute("aria-busy", "true");
    statusEl.textContent = "Searching…";
    loadAnswer(p, signal); // in parallel; never awaited before the results
    try {
      const res = await fetch(`search?${searchParams(p)}`, { headers: { Accept: "application/json" }, signal });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) {
        const detail = typeof data.detail === "string" ? data.detail : "the request was not accepted";
        throw new Error(detail);
      }
      renderResults(data, p);
    } catch (err) {
      if (err.name === "AbortError") return;
      resultsEl.replaceChildren();
      statusEl.classList.add("error");
      announce(`Search failed: ${err.message}`);
    } finally {
      if (!signal.aborted) resultsEl.removeAttribute("aria-busy");
    }
  }

  // -- events ------------------------------------------------------------------------------------
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const p = paramsFromForm();
    updateFilterCount(p);
    if (!p.get("q")) {
      announce("Type a question or keywords first.");
      input.focus();
      return;
    }
    const search = `?${p}`;
    if (search !== window.location.search) window.history.pushState(null, "", search);
    run(p);
  });

  $("clear-filters").addEventListener("click", () => {
    for (const f of FILTERS) $(f.el).value = "";
    fromEl.value = "";
    toEl.value = "";
    const p = paramsFromForm();
    updateFilterCount(p);
    if (p.get("q")) {
      window.history.pushState(null, "", `?${p}`);
      run(p);
    }
  });

  window.addEventListener("popstate", () => {
    // A fragment link (the skip link) also fires popstate: only a different query is a new search.
    if (window.location.search === shownSearch) return;
    const p = new URLSearchParams(window.location.search);
    fillForm(p);
    run(p);
  });

  async function loadFacets() {
    try {
      const res = await fetch("ui/facets", { headers: { Accept: "application/json" } });
      if (!res.ok) return;
      const facets = await res.json();
      for (const f of FILTERS) {
        const select = $(f.el);
        const chosen = select.value;
        for (const value of facets[f.param] || []) {
          ensureOption(select, value, f.param === "language" ? languageLabel(value) : value);
        }
        select.value = chosen;
      }
      if (facets.years) {
        const hint = `${facets.years[0]}–${facets.years[1]} in this index`;
        fromEl.placeholder = String(facets.years[0]);
        toEl.placeholder = String(facets.years[1]);
        $("years-hint").textContent = `four-digit years, inclusive (${hint})`;
      }
    } catch {
      /* the filters still work as free choices from the URL */
    }
  }

  const initial = new URLSearchParams(window.location.search);
  fillForm(initial);
  loadFacets();
  if (initial.get("q")) run(initial);
  else input.focus();
})();
