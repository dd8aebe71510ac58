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
 * Results a delegate can work through: ten at a time, "More results" asks for the next ten (`offset`) and the URL
 * keeps how many pages are shown (`page=3`: a bookmark shows the same thirty); `sort=date` orders them newest
 * first; "Group by document" (`group=document`) shows one card per document with its best paragraphs and a "More
 * from this document" button, which runs the query with that document's symbol as a filter. Each filter's choices
 * show how many of the ranked results have them (`facets=true`). The shown results can be copied as citations or
 * downloaded as CSV. A preferred language (kept in localStorage) adds a link to each result's version in it.
 *
 * Honest states: no results says why (the years asked for against those the index covers, a filter value the
 * index has none of) and offers to clear the filters; a service that cannot be reached or fails says so in plain
 * words with a "Try again" button; the search box's example is a citation the served index holds.
 *
 * Symbols are offered as they are typed (GET symbols?prefix=...) in the symbol filter, and in the search box while
 * its text looks like the start of a symbol ("S/RES/26"), through native <datalist> elements.
 *
 * Safety: every string from the server or the user goes into the page with textContent. The one
 * exception is a result's `snippet`, which the server HTML-escapes and marks up with <mark>; even that
 * is rebuilt here from text nodes and <mark> elements only (see safeSnippet).
 */
"use strict";

(() => {
  // The interface language (i18n.js, loaded first): every string the page shows comes from t(key, vars).
  const I18N = window.parasearchI18n;
  const t = (key, vars) => I18N.t(key, vars);
  const K = 10; // results per page
  const MAX_K = 100; // the API's most per request
  const GROUP_SHOWN = 3; // paragraphs per document card
  const PREFERRED = "parasearch.language"; // localStorage key of the preferred language
  const FILTERS = [
    { param: "body", api: "body", el: "f-body", name: "filter.body", facet: "body" },
    { param: "type", api: "type", el: "f-type", name: "filter.type", facet: "type" },
    { param: "language", api: "language", el: "f-language", name: "filter.language", facet: "language" },
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
  const symbolEl = $("f-symbol");
  const toolbar = $("toolbar");
  const sortEl = $("sort");
  const groupEl = $("group");
  const prefEl = $("pref-lang");
  const moreButton = $("more");
  const emptyEl = $("empty");
  const problemEl = $("problem");
  let indexInfo = null; // /ui/facets: the index's bodies, types, languages, years, an example citation
  let shown = []; // the results on screen, in order
  let hasMore = false;
  let lastParams = null; // the search on screen (for "Try again" and "More results")

  // Does the service compose answers? The page says so (a meta tag); a 404 from POST answer says it does not.
  const features = document.querySelector('meta[name="parasearch-features"]');
  let answerSupported = Promise.resolve(Boolean(features && features.content.split(/\s+/).includes("answer")));
  let current = null; // AbortController of the search in flight
  let nextPage = null; // AbortController of the "More results" request in flight
  let shownSearch = window.location.search; // the URL query of the search on screen
  let baseTitle = document.title;

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

  // Language names in the interface language ("French", "français", "الفرنسية").
  function displayNames() {
    try { return new Intl.DisplayNames([I18N.lang], { type: "language" }); } catch { return null; }
  }
  let languageNames = displayNames();
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
    return el("abbr", { className: "lang-badge", lang: I18N.lang, title: languageName(code) || code,
      text: code.toUpperCase() });
  }

  // The other language versions of a result, as small links to the same paragraph in each.
  function versionLinks(r) {
    if (!Array.isArray(r.versions) || !r.versions.length) return null;
    const p = el("p", { className: "versions" }, `${t("result.otherLanguages")} `);
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

  // -- URL <-> form ------------------------------------------------------------------------------
  function paramsFromForm() {
    const p = new URLSearchParams();
    const q = input.value.trim();
    if (q) p.set("q", q);
    for (const f of FILTERS) {
      const v = $(f.el).value;
      if (v) p.set(f.param, v);
    }
    if (symbolEl.value.trim()) p.set("symbol", symbolEl.value.trim());
    if (fromEl.value.trim()) p.set("from", fromEl.value.trim());
    if (toEl.value.trim()) p.set("to", toEl.value.trim());
    if (sortEl.value === "date") p.set("sort", "date");
    if (groupEl.checked) p.set("group", "document");
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
    symbolEl.value = p.get("symbol") || "";
    fromEl.value = p.get("from") || "";
    toEl.value = p.get("to") || "";
    sortEl.value = p.get("sort") === "date" ? "date" : "relevance";
    groupEl.checked = p.get("group") === "document";
    updateFilterCount(p);
  }

  const FILTER_KEYS = ["body", "type", "language", "symbol", "from", "to"];

  function updateFilterCount(p) {
    const n = FILTER_KEYS.filter((k) => p.get(k)).length;
    $("filter-count").textContent = n ? t("filters.active", { n }) : "";
    if (n) $("filters").open = true;
  }

  function yearProblem(p) {
    for (const key of ["from", "to"]) {
      const v = p.get(key);
      if (v && !/^\d{4}$/.test(v)) return t(key === "from" ? "year.firstDigits" : "year.lastDigits");
    }
    if (p.get("from") && p.get("to") && p.get("from") > p.get("to")) {
      return t("year.order");
    }
    return null;
  }

  // The API's query for results offset .. offset + k of the search `p` (every page from the same ranked list).
  function searchParams(p, offset, k) {
    const s = new URLSearchParams({ q: p.get("q"), k: String(k) });
    for (const f of FILTERS) if (p.get(f.param)) s.append(f.api, p.get(f.param));
    if (p.get("symbol")) s.append("symbol", p.get("symbol"));
    if (p.get("from")) s.set("date_from", p.get("from"));
    if (p.get("to")) s.set("date_to", p.get("to"));
    if (offset) s.set("offset", String(offset));
    if (p.get("sort") === "date") s.set("sort", "date");
    if (!offset) s.set("facets", "true");
    return s;
  }

  function pageOf(p) {
    const n = parseInt(p.get("page") || "1", 10);
    return Number.isFinite(n) && n > 1 ? Math.min(n, 100) : 1;
  }

  function answerFilters(p) {
    const filters = {};
    for (const f of FILTERS) if (p.get(f.param)) filters[f.api] = [p.get(f.param)];
    if (p.get("symbol")) filters.symbol = [p.get("symbol")];
    if (p.get("from")) filters.date_from = p.get("from");
    if (p.get("to")) filters.date_to = p.get("to");
    return filters;
  }

  // -- rendering ---------------------------------------------------------------------------------
  function preferredLanguage() {
    try { return window.localStorage.getItem(PREFERRED) || ""; } catch { return ""; }
  }

  // With a preferred language the result is not shown in but the document is indexed in: a link to that version.
  function preferredLink(r) {
    const pref = preferredLanguage();
    if (!pref || pref === r.language || !Array.isArray(r.versions)) return null;
    if (!r.versions.some((v) => v.language === pref)) return null;
    const name = languageName(pref) || pref;
    return el("p", { className: "preferred-version" },
      el("a", { className: "preferred", href: documentHref(r.symbol, r.para, pref), hreflang: pref,
        "data-language": pref, text: t("result.readIn", { language: name }) }));
  }

  function resultItem(r, heading = "h3") {
    const meta = [I18N.date(r.date), r.body, r.type].filter(Boolean).join(" · ");
    const grouped = heading !== "h3";
    const li = el("li", { className: r.weak ? "result weak" : "result", "data-language": r.language },
      el(heading, { className: "citation" },
        el("a", { href: documentHref(r.symbol, r.para, r.language), hreflang: r.language, text: r.citation }),
        languageBadge(r.language),
        r.weak ? el("span", { className: "tag weak-tag", title: t("result.weakTitle"), text: t("result.weak") }) : null),
      r.title && !grouped ? el("p", { className: "doc-name", text: r.title }) : null,
      meta && !grouped ? el("p", { className: "meta", text: meta }) : null,
      r.section && r.section !== r.title ? el("p", { className: "section", text: r.section }) : null,
    );
    const body = el("p", { className: "snippet", lang: r.language });
    body.append(r.snippet ? safeSnippet(r.snippet) : document.createTextNode(r.text));
    li.append(body);
    const preferred = preferredLink(r);
    if (preferred) li.append(preferred);
    const versions = versionLinks(r);
    if (versions) li.append(versions);
    if (r.also_in && r.also_in.length) {
      const also = el("p", { className: "also-in" }, `${t("result.alsoIn")} `);
      r.also_in.forEach((c, i) => {
        if (i) also.append("; ");
        also.append(el("a", { href: documentHref(c.symbol, c.para, c.language), text: c.citation }));
      });
      li.append(also);
    }
    return li;
  }

  // One card per document: its title, symbol and date once, its best paragraphs under it, and a button that runs
  // the query over that document alone.
  function groupCards(results) {
    const groups = new Map();
    for (const r of results) {
      if (!groups.has(r.symbol)) groups.set(r.symbol, []);
      groups.get(r.symbol).push(r);
    }
    const onlyOne = lastParams && lastParams.get("symbol");
    return [...groups.values()].map((rs) => {
      const first = rs[0];
      const meta = [first.symbol, I18N.date(first.date), first.body, first.type].filter(Boolean).join(" · ");
      const weak = rs.every((r) => r.weak);
      const card = el("li", { className: weak ? "doc-group weak" : "doc-group", "data-symbol": first.symbol },
        el("h3", { className: "doc-heading" },
          el("a", { href: documentHref(first.symbol, null, first.language), hreflang: first.language,
            text: first.title || first.symbol }),
          languageBadge(first.language)),
        el("p", { className: "meta", text: meta }),
        el("p", { className: "group-count hint", text: t("group.count", { n: rs.length })
          + (rs.length > GROUP_SHOWN ? t("group.best", { n: GROUP_SHOWN }) : "") }));
      card.append(el("ol", { className: "group-results" }, ...rs.slice(0, GROUP_SHOWN).map((r) => resultItem(r, "h4"))));
      if (!onlyOne) {
        card.append(el("button", { type: "button", className: "more-from", "data-symbol": first.symbol,
          "aria-label": t("group.moreAria", { symbol: first.symbol }), text: t("group.more") }));
      }
      return card;
    });
  }

  function drawResults() {
    const grouped = lastParams && lastParams.get("group") === "document";
    resultsEl.classList.toggle("grouped", Boolean(grouped));
    resultsEl.replaceChildren(...(grouped ? groupCards(shown) : shown.map((r) => resultItem(r))));
    moreButton.hidden = !hasMore;
    toolbar.hidden = !shown.length;
  }

  // What the search's `state` says above the results, as their heading, and in the announcement.
  function showMatchState(state, n, q) {
    const notFound = n > 0 && state === "not_found";
    const closest = n > 0 && state === "closest";
    matchNotice.hidden = !(notFound || closest);
    matchNotice.dataset.state = notFound || closest ? state : "";
    matchNotice.textContent = notFound ? t("match.notFound") : closest ? t("match.closest") : "";
    resultsHeading.textContent = t(notFound ? "results.closest" : closest ? "results.possible" : "results.heading");
    if (!n) return t("status.none", { q });
    if (notFound) return t("status.notFound", { q, n });
    if (closest) return t("status.closest", { q, n });
    return t("status.results", { q, n });
  }

  // -- facet counts ----------------------------------------------------------------------------------------------
  function optionLabel(param, value) {
    return param === "language" ? languageLabel(value) : value;
  }

  // Each filter's choices with how many of the ranked results have them; a filter in use counts only its choice.
  function showFacetCounts(facets, p) {
    for (const f of FILTERS) {
      const select = $(f.el);
      const counts = new Map(((facets && facets[f.facet]) || []).map((c) => [c.value.toLowerCase(), c]));
      for (const option of select.options) {
        if (!option.value) continue;
        const base = optionLabel(f.param, option.value);
        const c = counts.get(option.value.toLowerCase());
        const active = Boolean(p.get(f.param));
        const count = !facets || (active && option.value !== p.get(f.param)) ? null : c ? c.paragraphs : 0;
        option.textContent = count === null ? base : `${base} (${I18N.number(count)})`;
        option.dataset.count = count === null ? "" : String(count);
      }
    }
    const years = $("year-counts");
    const list = (facets && facets.year) || [];
    years.replaceChildren();
    years.hidden = !list.length;
    if (!list.length) return;
    years.append(el("span", { className: "sub", text: `${t("filters.byYear")} ` }));
    for (const c of list) {
      years.append(el("button", { type: "button", className: "link-button year", "data-year": c.value,
        "aria-label": t("filters.yearAria", { year: String(c.value), results: t("count.results", { n: c.paragraphs }),
          documents: t("count.documents", { n: c.documents }) }),
        text: `${c.value} (${I18N.number(c.paragraphs)})` }), " ");
    }
  }

  // -- honest states ---------------------------------------------------------------------------------------------
  function activeFilters(p) {
    const out = [];
    const item = (key, value) => t("filter.item", { name: t(key), value });
    for (const f of FILTERS) if (p.get(f.param)) out.push(item(f.name, optionLabel(f.param, p.get(f.param))));
    if (p.get("symbol")) out.push(item("filter.symbol", p.get("symbol")));
    if (p.get("from") || p.get("to")) out.push(item("filter.years", `${p.get("from") || "…"}–${p.get("to") || "…"}`));
    return out;
  }

  // Why a search found nothing, as precisely as the index's own facts allow.
  function emptyReason(p, data) {
    const info = indexInfo || {};
    const span = info.years;
    const from = p.get("from") ? parseInt(p.get("from"), 10) : null;
    const to = p.get("to") ? parseInt(p.get("to"), 10) : null;
    if (span && ((from !== null && from > span[1]) || (to !== null && to < span[0]))) {
      const asked = from !== null && to !== null ? (from === to ? `${from}` : `${from}–${to}`)
        : from !== null ? t("empty.orLater", { year: String(from) }) : t("empty.orEarlier", { year: String(to) });
      return t("empty.years", { asked, from: String(span[0]), to: String(span[1]) });
    }
    for (const f of FILTERS) {
      const v = p.get(f.param);
      const known = info[f.param];
      if (v && Array.isArray(known) && !known.some((x) => x.toLowerCase() === v.toLowerCase())) {
        const key = f.param === "language" ? "empty.noLanguage" : f.param === "type" ? "empty.noType" : "empty.noBody";
        const held = known.map((x) => optionLabel(f.param, x)).join(", ");
        return t(key, { value: optionLabel(f.param, v), held: held || t("empty.heldNone") });
      }
    }
    const filters = activeFilters(p);
    if (filters.length) return t("empty.filters", { q: p.get("q"), filters: filters.join("; ") });
    if (data && data.notice) return data.notice;
    return t("empty.plain", { q: p.get("q") });
  }

  function showEmpty(p, data) {
    emptyEl.hidden = false;
    $("empty-reason").textContent = emptyReason(p, data);
    $("empty-clear").hidden = !activeFilters(p).length;
  }

  function hideStates() {
    emptyEl.hidden = true;
    problemEl.hidden = true;
  }

  // A search that could not be made: in plain words, with a way to try again.
  function showProblem(message) {
    problemEl.hidden = false;
    $("problem-text").textContent = message;
  }

  function answerNoteText(method) {
    if (!method) return "";
    if (method.startsWith("extractive")) return t("answer.extractive");
    if (method.startsWith("llm")) return t("answer.llm");
    return t("answer.method", { method });
  }

  // The answer box's heading and note for each `state`; the heading is the state in words, not colour alone.
  const ANSWER_STATES = {
    answer: { heading: "answer.heading", note: "" },
    closest: { heading: "answer.closest", note: "answer.closestNote" },
    not_found: { heading: "answer.notFound", note: "" },
  };

  function answerState(data) {
    if (Object.prototype.hasOwnProperty.call(ANSWER_STATES, data.state)) return data.state;
    return data.found === false ? "not_found" : "answer";
  }

  function setAnswerState(state) {
    const s = ANSWER_STATES[state] || ANSWER_STATES.answer;
    if (state) answerEl.dataset.state = state;
    else delete answerEl.dataset.state;
    answerHeading.textContent = t(s.heading);
    answerStateEl.textContent = s.note ? t(s.note) : "";
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
        item.date ? el("time", { className: "item-date", datetime: item.date, text: I18N.date(item.date) }) : null,
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
      : [answerNoteText(data.method), probability === null ? ""
        : t("answer.confidence", { percent: I18N.number(Math.round(probability * 100) / 100, { style: "percent" }) })]
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
    answerBody.replaceChildren(el("p", { className: "hint", text: t("answer.composing") }));
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

  // GET search for results offset .. offset + k: the response, or an Error whose `plain` is what to tell the user.
  async function fetchPage(p, offset, k, signal) {
    let res;
    try {
      res = await fetch(`search?${searchParams(p, offset, k)}`, { headers: { Accept: "application/json" }, signal });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      const e = new Error("unreachable");
      e.plain = t("error.unreachable");
      e.retry = true;
      throw e;
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const e = new Error(`HTTP ${res.status}`);
      const detail = typeof data.detail === "string" ? data.detail : "";
      e.retry = res.status >= 500 || res.status === 429;
      e.plain = res.status >= 500 ? t("error.server", { status: String(res.status) })
        : res.status === 429 ? t("error.tooMany")
          : t("error.rejected", { detail: detail || `HTTP ${res.status}` });
      throw e;
    }
    return data;
  }

  function failed(err) {
    resultsEl.replaceChildren();
    shown = [];
    hasMore = false;
    drawResults();
    showMatchState(null, 0, "");
    statusEl.classList.add("error");
    showProblem(err.plain || t("error.failed"));
    $("retry").hidden = err.retry === false;
    announce(err.plain || t("error.failedShort"));
  }

  async function run(p) {
    if (current) current.abort();
    if (nextPage) nextPage.abort();
    shownSearch = window.location.search;
    lastParams = p;
    const q = p.get("q");
    document.title = q ? `${q} — parasearch` : baseTitle;
    hideStates();
    if (!q) {
      shown = [];
      hasMore = false;
      drawResults();
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
    statusEl.textContent = t("status.searching");
    loadAnswer(p, signal); // in parallel; never awaited before the results
    try {
      // The pages the URL asks for, at most MAX_K results a request, from the same ranked list.
      const wanted = pageOf(p) * K;
      const results = [];
      let data = await fetchPage(p, 0, Math.min(wanted, MAX_K), signal);
      results.push(...(data.results || []));
      const first = data;
      while (data.has_more && results.length < wanted) {
        data = await fetchPage(p, results.length, Math.min(wanted - results.length, MAX_K), signal);
        results.push(...(data.results || []));
      }
      shown = results;
      hasMore = data.has_more === true;
      noticeEl.hidden = !first.notice || !results.length;
      noticeEl.textContent = first.notice || "";
      showFacetCounts(first.facets, p);
      drawResults();
      if (!results.length) showEmpty(p, first);
      announce(showMatchState(first.state, results.length, q));
    } catch (err) {
      if (err.name === "AbortError") return;
      failed(err);
    } finally {
      if (!signal.aborted) resultsEl.removeAttribute("aria-busy");
    }
  }

  // The next ten: appended, the URL's page one more, the keyboard on the first new result.
  async function more() {
    const p = lastParams;
    if (!p || !hasMore) return;
    // Its own request: the answer being composed for the same search goes on.
    if (nextPage) nextPage.abort();
    nextPage = new AbortController();
    const { signal } = nextPage;
    moreButton.disabled = true;
    statusEl.classList.remove("error");
    statusEl.textContent = t("status.loadingMore");
    try {
      const data = await fetchPage(p, shown.length, K, signal);
      const before = new Set(resultLinks().map((a) => a.getAttribute("href")));
      const added = data.results || [];
      shown = shown.concat(added);
      hasMore = data.has_more === true;
      p.set("page", String(Math.ceil(shown.length / K)));
      const search = `?${p}`;
      window.history.replaceState(null, "", search);
      shownSearch = window.location.search;
      drawResults();
      const first = resultLinks().find((a) => !before.has(a.getAttribute("href")));
      if (first) first.focus();
      announce(t("status.moreLoaded", { n: added.length, shown: shown.length }));
    } catch (err) {
      if (err.name === "AbortError") return;
      showProblem(err.plain || t("error.more"));
      $("retry").hidden = true;
      announce(err.plain || t("error.more"));
    } finally {
      moreButton.disabled = false;
    }
  }

  // The links that lead each card and result, in order (the keyboard lands on the first new one after "More").
  function resultLinks() {
    return [...resultsEl.querySelectorAll(".doc-heading a, .result h3 a, .result h4 a")];
  }

  // -- export ----------------------------------------------------------------------------------------------------
  function absolute(r) {
    return new URL(documentHref(r.symbol, r.para, r.language), window.location.href).href;
  }

  function citationLine(r) {
    const about = [r.title, r.date].filter(Boolean).join(", ");
    return `${r.citation}${about ? ` — ${about}` : ""}. ${absolute(r)}`;
  }

  function csvCell(value) {
    let v = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(v)) v = `'${v}`; // never a formula in a spreadsheet
    return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  }

  function resultsCsv(results) {
    const rows = [["symbol", "paragraph", "citation", "title", "date", "language", "url"]];
    for (const r of results) rows.push([r.symbol, r.para, r.citation, r.title, r.date, r.language, absolute(r)]);
    return rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }

  function fallbackCopy(text) {
    const previous = document.activeElement;
    const area = el("textarea", { readonly: "", className: "offscreen" });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
    if (previous && previous.focus) previous.focus({ preventScroll: true });
    return ok;
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch { /* refused: the old way */ }
    }
    return fallbackCopy(text);
  }

  function filename() {
    const q = (lastParams && lastParams.get("q")) || "results";
    const slug = q.normalize("NFKD").replace(/[^\w]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "results";
    return `parasearch-${slug}.csv`;
  }

  // -- events ------------------------------------------------------------------------------------
  // A new search from the form's state (page 1), in the URL and the history.
  function go(p) {
    updateFilterCount(p);
    const search = `?${p}`;
    if (search !== window.location.search) window.history.pushState(null, "", search);
    run(p);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const p = paramsFromForm();
    updateFilterCount(p);
    if (!p.get("q")) {
      announce(t("status.typeFirst"));
      input.focus();
      return;
    }
    go(p);
  });

  function clearFilters() {
    for (const f of FILTERS) $(f.el).value = "";
    symbolEl.value = "";
    fromEl.value = "";
    toEl.value = "";
    const p = paramsFromForm();
    updateFilterCount(p);
    if (p.get("q")) go(p);
  }

  $("clear-filters").addEventListener("click", clearFilters);
  $("empty-clear").addEventListener("click", () => {
    clearFilters();
    $("output").focus();
  });

  $("retry").addEventListener("click", () => {
    if (!lastParams) return;
    $("output").focus();
    run(lastParams);
  });

  moreButton.addEventListener("click", more);

  // Sorting and grouping are part of the search (and its URL); grouping alone needs no new request.
  sortEl.addEventListener("change", () => {
    if (input.value.trim()) go(paramsFromForm());
  });
  groupEl.addEventListener("change", () => {
    const p = paramsFromForm();
    if (lastParams && lastParams.get("page")) p.set("page", lastParams.get("page"));
    window.history.replaceState(null, "", `?${p}`);
    shownSearch = window.location.search;
    lastParams = p;
    drawResults();
  });

  prefEl.addEventListener("change", () => {
    try {
      if (prefEl.value) window.localStorage.setItem(PREFERRED, prefEl.value);
      else window.localStorage.removeItem(PREFERRED);
    } catch { /* storage off: the choice lasts until the page is left */ }
    drawResults();
    announce(prefEl.value ? t("pref.set", { language: languageName(prefEl.value) || prefEl.value }) : t("pref.none"));
  });

  resultsEl.addEventListener("click", (event) => {
    const button = event.target.closest("button.more-from");
    if (!button) return;
    symbolEl.value = button.dataset.symbol;
    $("filters").open = true;
    go(paramsFromForm());
    $("output").focus();
  });

  $("year-counts").addEventListener("click", (event) => {
    const button = event.target.closest("button.year");
    if (!button) return;
    fromEl.value = button.dataset.year;
    toEl.value = button.dataset.year;
    go(paramsFromForm());
  });

  $("copy-all").addEventListener("click", async () => {
    const text = shown.map(citationLine).join("\n");
    announce(await copyText(text) ? t("copy.done", { n: shown.length }) : t("copy.blocked"));
  });

  $("download-csv").addEventListener("click", () => {
    const blob = new Blob(["\ufeff", resultsCsv(shown)], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: filename(), className: "offscreen" });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
    announce(t("csv.done", { n: shown.length }));
  });

  $("q-example").addEventListener("click", (event) => {
    input.value = event.currentTarget.dataset.query;
    go(paramsFromForm());
  });

  window.addEventListener("popstate", () => {
    // A fragment link (the skip link) also fires popstate: only a different query is a new search.
    if (window.location.search === shownSearch) return;
    const p = new URLSearchParams(window.location.search);
    fillForm(p);
    run(p);
  });

  function fillPreferences(languages) {
    const pref = preferredLanguage();
    const codes = [...new Set([...languages, ...(pref ? [pref] : [])])];
    for (const code of codes) ensureOption(prefEl, code, languageLabel(code));
    prefEl.value = pref;
  }

  // The example in the search box's hint: a citation the index being served holds.
  function showExample(example) {
    const button = $("q-example");
    if (!example || !example.query) {
      button.hidden = true;
      return;
    }
    $("q-example-text").textContent = t("example.label");
    button.textContent = example.query;
    button.dataset.query = example.query;
    button.setAttribute("aria-label", t("example.aria", { query: example.query }));
    button.hidden = false;
  }

  async function loadFacets() {
    try {
      const res = await fetch("ui/facets", { headers: { Accept: "application/json" } });
      if (!res.ok) return;
      const facets = await res.json();
      indexInfo = facets;
      for (const f of FILTERS) {
        const select = $(f.el);
        const chosen = select.value;
        for (const value of facets[f.param] || []) ensureOption(select, value, optionLabel(f.param, value));
        select.value = chosen;
      }
      fillPreferences(facets.language || []);
      showExample(facets.example);
      if (facets.years) {
        fromEl.placeholder = String(facets.years[0]);
        toEl.placeholder = String(facets.years[1]);
      }
      showYearsHint();
    } catch {
      /* the filters still work as free choices from the URL */
      fillPreferences([]);
    }
  }

  // The years hint, with the span the index covers once the facets have said it.
  function showYearsHint() {
    const years = indexInfo && indexInfo.years;
    $("years-hint").textContent = years
      ? t("filters.yearsHintSpan", { from: String(years[0]), to: String(years[1]) }) : t("filters.yearsHint");
  }

  // Another interface language (the switch): i18n.js has translated the static strings; the ones drawn here are
  // drawn again, and the search on screen is run again so that its messages are in the new language.
  document.addEventListener("parasearch:lang", () => {
    languageNames = displayNames();
    baseTitle = t("page.title");
    for (const f of FILTERS) {
      for (const option of $(f.el).options) if (option.value) option.textContent = optionLabel(f.param, option.value);
    }
    for (const option of prefEl.options) if (option.value) option.textContent = languageLabel(option.value);
    showYearsHint();
    if (indexInfo) showExample(indexInfo.example);
    updateFilterCount(paramsFromForm());
    if (lastParams && lastParams.get("q")) run(lastParams);
    else document.title = baseTitle;
  });

  // -- symbol autocompletion ---------------------------------------------------------------------
  // A native <datalist> per box, filled from GET symbols?prefix=... as the user types (after a short pause, the
  // request before cancelled): the browser shows the choices and handles the keyboard and screen readers. The
  // search box offers symbols only while its text looks like the start of one (letters, then a slash, no space:
  // "S/RES/26", "A/HRC/5"), never for a question; the symbol filter offers them for any text.
  const SYMBOL_START = /^[A-Za-z][A-Za-z0-9.]*\/\S*$/;

  function suggestSymbols(box, list, wanted) {
    let timer = null;
    let inFlight = null;
    let asked = "";
    box.addEventListener("input", () => {
      const text = box.value.trim();
      clearTimeout(timer);
      if (!wanted(text)) {
        if (inFlight) inFlight.abort();
        list.replaceChildren();
        asked = "";
        return;
      }
      if (text === asked) return;
      timer = setTimeout(async () => {
        if (inFlight) inFlight.abort();
        const mine = new AbortController();
        inFlight = mine;
        asked = text;
        try {
          const res = await fetch(`symbols?${new URLSearchParams({ prefix: text, limit: "8" })}`,
            { headers: { Accept: "application/json" }, signal: mine.signal });
          if (!res.ok) return;
          const body = await res.json();
          if (mine.signal.aborted) return;
          list.replaceChildren(...body.suggestions.map((s) => el("option", {
            value: s.symbol, label: [s.title, s.date ? s.date.slice(0, 4) : ""].filter(Boolean).join(" · "),
          })));
        } catch (err) {
          if (err.name !== "AbortError") list.replaceChildren(); // autocompletion is a help: never an error
        }
      }, 150);
    });
  }
  suggestSymbols(input, $("q-symbols"), (text) => SYMBOL_START.test(text));
  suggestSymbols(symbolEl, $("symbol-list"), (text) => text.length > 0);

  const initial = new URLSearchParams(window.location.search);
  fillForm(initial);
  // The index's facts first (an empty result's reason uses them), then the search the URL names.
  const ready = loadFacets();
  if (initial.get("q")) ready.finally(() => run(initial));
  else input.focus();
})();
