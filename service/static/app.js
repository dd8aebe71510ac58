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
 * How sure the service is: a search's `state` ("answer", "closest", "not_found"; null without a learned
 * re-ranker) and each result's `weak` flag. A weak result is tagged "weak match"; a "not_found" search says so
 * above its results and does not announce them as matches. The answer's `state` names its box ("Answer",
 * "Closest passage", "Not found"); its sentences lead with their citations, as the API's `answer` text does
 * ("S/RES/2542 (2020), para. 7: Decides ..."), and a list question's `items` follow as one line per document.
 * A response without `state` (an older service) is shown as before.
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
  const answerHeading = $("answer-heading");
  const answerStateEl = $("answer-state");
  const answerItems = $("answer-items");
  const resultsHeading = $("results-heading");
  const matchNotice = $("match-notice");
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

  // A paragraph's text, cut at a word to about `max` characters with an ellipsis.
  function shorten(text, max = 300) {
    const t = (text || "").replace(/\s+/g, " ").trim();
    if (t.length <= max) return t;
    const cut = t.slice(0, max);
    const space = cut.lastIndexOf(" ");
    return (space > max * 0.6 ? cut.slice(0, space) : cut).replace(/[\s,;:.]+$/, "") + "…";
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
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
    const li = el("li", { className: r.weak ? "result weak" : "result", "data-language": r.language },
      el("h3", { className: "citation" },
        el("a", { href: documentHref(r.symbol, r.para, r.language), hreflang: r.language, text: r.citation }),
        languageBadge(r.language),
        r.weak ? el("span", { className: "tag weak-tag", title: "Weak evidence that this paragraph matches the query",
          text: "weak match" }) : null),
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

  // What the search's `state` says above the results, as their heading, and in the announcement.
  function showMatchState(state, n, q) {
    const notFound = n > 0 && state === "not_found";
    const closest = n > 0 && state === "closest";
    matchNotice.hidden = !(notFound || closest);
    matchNotice.dataset.state = notFound || closest ? state : "";
    matchNotice.textContent = notFound ? "No paragraph matches this query well. The closest passages are shown below."
      : closest ? "Possible matches: the first result may not answer the query." : "";
    resultsHeading.textContent = notFound ? "Closest passages" : closest ? "Possible matches" : "Results";
    if (!n) return `No results for “${q}”.`;
    if (notFound) return `No good match for “${q}”; ${plural(n, "closest passage", "closest passages")} shown.`;
    if (closest) return `${plural(n, "possible match", "possible matches")} for “${q}”.`;
    return `${plural(n, "result", "results")} for “${q}”.`;
  }

  function renderResults(data, p) {
    const results = Array.isArray(data.results) ? data.results : [];
    resultsEl.replaceChildren(...results.map(resultItem));
    noticeEl.hidden = !data.notice;
    noticeEl.textContent = data.notice || "";
    announce(showMatchState(data.state, results.length, p.get("q")));
  }

  function answerNoteText(method) {
    if (!method) return "";
    if (method.startsWith("extractive")) return "Sentences quoted from the cited paragraphs.";
    if (method.startsWith("llm")) return "Written by a language model from the cited paragraphs: check them.";
    return `Method: ${method}.`;
  }

  // The answer box's heading and note for each `state`; the heading is the state in words, not colour alone.
  const ANSWER_STATES = {
    answer: { heading: "Answer", note: "" },
    closest: { heading: "Closest passage", note: "This passage may not answer the question." },
    not_found: { heading: "Not found", note: "" },
  };

  function answerState(data) {
    if (Object.prototype.hasOwnProperty.call(ANSWER_STATES, data.state)) return data.state;
    return data.found === false ? "not_found" : "answer";
  }

  function setAnswerState(state) {
    const s = ANSWER_STATES[state] || ANSWER_STATES.answer;
    if (state) answerEl.dataset.state = state;
    else delete answerEl.dataset.state;
    answerHeading.textContent = s.heading;
    answerStateEl.textContent = s.note;
    answerStateEl.hidden = !s.note;
  }

  // A citation as a link to its paragraph in the document view, in the language version quoted.
  function citeLink(c, className) {
    return el("a", { className, href: documentHref(c.symbol, c.para, c.language), hreflang: c.language,
      text: c.citation });
  }

  // Runs of sentences citing the same paragraphs, each led once by those citations (as the API's `answer` is):
  // "S/RES/2542 (2020), para. 7: Decides ... ."
  function citedRuns(sentences) {
    const runs = [];
    const key = (s) => (s.citations || []).map((c) => c.citation).join("; ");
    for (const s of sentences) {
      const last = runs[runs.length - 1];
      if (last && last.key === key(s)) last.texts.push(s.text);
      else runs.push({ key: key(s), citations: s.citations || [], texts: [s.text] });
    }
    return runs.map((run) => {
      const p = el("p", { className: "answer-run" });
      run.citations.forEach((c, i) => {
        if (i) p.append("; ");
        p.append(citeLink(c, "cite-ref lead-cite"));
      });
      if (run.citations.length) p.append(": ");
      p.append(run.texts.join(" "));
      return p;
    });
  }

  // The older layout (a service without `state`): the citations in brackets after each run.
  function trailingCitations(sentences) {
    const para = el("p");
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
    return [para];
  }

  // A list answer: one line per document, newest first as given: date, citation, the paragraph shortened.
  function listItem(item) {
    const full = (item.text || "").trim();
    const short = shorten(full);
    return el("li", { className: "answer-item", "data-language": item.language },
      el("p", { className: "item-head" },
        item.date ? el("time", { className: "item-date", datetime: item.date, text: item.date }) : null,
        item.date ? " " : null,
        citeLink(item, "cite-ref item-cite"),
        languageBadge(item.language)),
      item.title ? el("p", { className: "item-title", text: item.title }) : null,
      short ? el("p", { className: "item-text", lang: item.language, title: short === full ? null : full,
        text: short }) : null);
  }

  function renderAnswer(data) {
    answerBody.replaceChildren();
    answerItems.replaceChildren();
    answerEl.removeAttribute("aria-busy");
    const state = answerState(data);
    setAnswerState(state);
    const citationFirst = typeof data.state === "string";
    // Backed sentences; with citations first, those that cite something (the sentences of `answer`).
    const sentences = (Array.isArray(data.sentences) ? data.sentences : []).filter((s) => s.supported !== false
      && (!citationFirst || (Array.isArray(s.citations) && s.citations.length)));
    if (state === "not_found" || !sentences.length) {
      if (data.answer) answerBody.append(el("p", { className: "hint", text: data.answer }));
    } else {
      answerBody.append(...(citationFirst ? citedRuns(sentences) : trailingCitations(sentences)));
    }
    const items = Array.isArray(data.items) ? data.items : [];
    answerItems.append(...items.map(listItem));
    answerItems.hidden = !items.length;
    if (!answerBody.textContent.trim() && !items.length) {
      answerEl.hidden = true;
      return;
    }
    const probability = data.confidence && typeof data.confidence.probability === "number"
      ? data.confidence.probability : null;
    answerNote.textContent = state === "not_found" ? ""
      : [answerNoteText(data.method), probability === null ? "" : `Confidence: ${Math.round(probability * 100)}%.`]
        .filter(Boolean).join(" ");
    answerEl.hidden = false;
  }

  async function loadAnswer(p, signal) {
    if (!(await answerSupported) || signal.aborted) {
      answerEl.hidden = true;
      return;
    }
    // Hold the answer's place at once, so that the results do not jump down when it arrives.
    setAnswerState(null);
    answerBody.replaceChildren(el("p", { className: "hint", text: "Composing a cited answer…" }));
    answerItems.replaceChildren();
    answerItems.hidden = true;
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
      showMatchState(null, 0, "");
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
      showMatchState(null, 0, "");
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
