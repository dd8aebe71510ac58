/* parasearch embeddable search widget.
 *
 *   <script src="https://parasearch.example.org/widget.js" data-parasearch
 *           data-k="5" data-placeholder="Search UN documents"></script>
 *
 * Adds a search box and a results panel right after the script tag (or inside the element named by
 * data-target="#css-selector"), in a Shadow DOM: the host page's CSS cannot reach inside it and its
 * CSS cannot leak out. It calls the service it was loaded from (the script's own URL), across origins:
 * the service must list the host page's origin in PARASEARCH_CORS_ORIGINS.
 *
 * Options (data- attributes on the script tag):
 *   data-k            number of results, 1-20 (default 5)
 *   data-placeholder  placeholder of the search box
 *   data-label        the search box's label (default "Search UN documents")
 *   data-body, data-type, data-language   fixed filters, e.g. data-body="Security Council"
 *   data-new-tab      "true": open results in a new tab
 *   data-target       CSS selector of the element to render into
 *   data-lang         the widget's interface language: ar, zh, en, fr, ru or es (default: the host page's
 *                     <html lang>, else English); Arabic lays the widget out right to left
 *   data-answer       "true": also ask POST answer and show the cited answer above the results, headed by its
 *                     state ("Answer", "Closest passage", "Not found"), each run of sentences led by its
 *                     citation; the results never wait for it, and a service without answers shows none
 *
 * Its few interface strings are embedded below in the six languages (a copy of the same keys in static/i18n.js,
 * which tests/test_browser_i18n.py keeps identical), so that the widget stays one request.
 * Each result links to its own language version at the paragraph (documents/SYMBOL?language=fr#para-3), shows
 * that language as a small badge ("FR"), and lists the document's other language versions as small links.
 * A result the service marks `weak` is tagged "weak match"; when the search's `state` is "not_found", the status
 * line says that nothing matches well and that the closest passages are shown.
 */
(() => {
  "use strict";

  const CSS = `
    :host { all: initial; display: block; contain: content; }
    :host([hidden]) { display: none; }
    *, *::before, *::after { box-sizing: border-box; }
    .ps { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif;
      color: #1b1f24; background: #fff; border: 1px solid #c5ccd5; border-radius: 8px; padding: 12px;
      max-width: 42rem; text-align: start; }
    label { display: block; font-weight: 600; margin: 0 0 4px; }
    .row { display: flex; gap: 6px; }
    input { flex: 1 1 auto; min-width: 0; font: inherit; color: inherit; background: #fff; margin: 0;
      border: 1px solid #7b8591; border-radius: 4px; padding: 6px 9px; min-height: 42px; }
    button { font: inherit; font-weight: 600; margin: 0; border: 1px solid #0b5394; border-radius: 4px;
      background: #0b5394; color: #fff; padding: 6px 14px; min-height: 42px; cursor: pointer; }
    :focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
    .status { margin: 8px 0 0; font-size: 13px; color: #545b64; min-height: 1em; }
    .status:empty { display: none; }
    .error { color: #a4161a; font-weight: 600; }
    ol { list-style: none; margin: 4px 0 0; padding: 0; }
    li { padding: 10px 0; border-top: 1px solid #e1e5ea; }
    li:first-child { border-top: 0; }
    a { color: #0a4a85; text-underline-offset: 0.15em; }
    .cite { font-weight: 600; overflow-wrap: anywhere; }
    .meta { color: #545b64; font-size: 13px; margin: 2px 0 0; overflow-wrap: anywhere; display: -webkit-box;
      -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden; }
    .snippet { margin: 4px 0 0; overflow-wrap: break-word; display: -webkit-box; -webkit-box-orient: vertical;
      -webkit-line-clamp: 6; overflow: hidden; }
    mark { background: #ffe58a; color: inherit; padding: 0 1px; border-radius: 2px; }
    .badge { display: inline-block; margin-inline-start: 6px; padding: 0 4px; border: 1px solid #c5ccd5; border-radius: 3px;
      font-size: 11px; font-weight: 600; color: #545b64; line-height: 1.5; vertical-align: 1px; text-decoration: none; }
    .versions { margin: 2px 0 0; font-size: 13px; color: #545b64; }
    .versions a { margin-inline-start: 4px; }
    .more { margin: 8px 0 0; font-size: 13px; }
    .more:empty { display: none; }
    .brand { margin: 8px 0 0; font-size: 12px; color: #545b64; }
    .tag { display: inline-block; margin-inline-start: 6px; padding: 0 4px; border: 1px dashed #545b64; border-radius: 3px;
      font-size: 11px; font-weight: 600; color: #545b64; line-height: 1.5; vertical-align: 1px; white-space: nowrap; }
    li.weak .snippet { color: #545b64; }
    .status.not-found { color: #1b1f24; font-weight: 600; }
    .answer { margin: 10px 0 0; padding: 8px 10px; border-inline-start: 4px solid #0b5394; background: #f3f6f9;
      border-radius: 4px; }
    .answer[hidden] { display: none; }
    .answer[data-state="closest"] { border-inline-start-color: #8a5a00; }
    .answer[data-state="not_found"] { border-inline-start-color: #545b64; }
    .answer h2 { font-size: 15px; margin: 0 0 4px; }
    .answer p { margin: 4px 0 0; overflow-wrap: break-word; }
    .answer .note { font-size: 13px; color: #545b64; }
    .answer .state-note { font-size: 13px; color: #7a4f00; font-weight: 600; }
    .answer ol { margin: 4px 0 0; }
    .answer li { padding: 4px 0; }
  `;

  const MESSAGES = /* widget-catalogue:begin */ {
    "en": {
      "search.label": "Search UN documents",
      "search.button": "Search",
      "widget.results": "Search results",
      "widget.brand": "Paragraph-cited search by {link}",
      "result.otherLanguages": "Other languages:",
      "status.typeFirst": "Type a question or keywords first.",
      "status.searching": "Searching…",
      "widget.unavailable": "Search is not available here: the service at {host} refused this page or could not be reached.",
      "widget.failed": "Search failed: {detail}",
      "result.weak": "weak match",
      "widget.all": "All results on parasearch",
      "status.none": "No results for “{q}”.",
      "status.notFound": {"one": "No good match for “{q}”; {n} closest passage shown.", "other": "No good match for “{q}”; {n} closest passages shown."},
      "status.results": {"one": "{n} result for “{q}”.", "other": "{n} results for “{q}”."},
      "answer.heading": "Answer",
      "answer.closest": "Closest passage",
      "answer.closestNote": "This passage may not answer the question.",
      "answer.notFound": "Not found",
      "answer.composing": "Composing a cited answer…",
      "answer.extractive": "Sentences quoted from the cited paragraphs.",
      "answer.llm": "Written by a language model from the cited paragraphs: check them.",
      "answer.items": "Documents, newest first"
    },
    "fr": {
      "search.label": "Rechercher dans les documents de l’ONU",
      "search.button": "Rechercher",
      "widget.results": "Résultats de la recherche",
      "widget.brand": "Recherche avec citation par paragraphe : {link}",
      "result.otherLanguages": "Autres langues :",
      "status.typeFirst": "Saisissez d’abord une question ou des mots clés.",
      "status.searching": "Recherche en cours…",
      "widget.unavailable": "La recherche n’est pas disponible ici : le service situé à {host} a refusé cette page ou est injoignable.",
      "widget.failed": "La recherche a échoué : {detail}",
      "result.weak": "correspondance faible",
      "widget.all": "Tous les résultats sur parasearch",
      "status.none": "Aucun résultat pour « {q} ».",
      "status.notFound": {"one": "Aucune bonne correspondance pour « {q} » ; {n} passage proche affiché.", "other": "Aucune bonne correspondance pour « {q} » ; {n} passages proches affichés."},
      "status.results": {"one": "{n} résultat pour « {q} ».", "other": "{n} résultats pour « {q} »."},
      "answer.heading": "Réponse",
      "answer.closest": "Passage le plus proche",
      "answer.closestNote": "Ce passage ne répond peut-être pas à la question.",
      "answer.notFound": "Aucune réponse trouvée",
      "answer.composing": "Rédaction d’une réponse avec citations…",
      "answer.extractive": "Phrases citées textuellement des paragraphes indiqués.",
      "answer.llm": "Rédigé par un modèle de langage à partir des paragraphes cités : vérifiez-les.",
      "answer.items": "Documents, du plus récent au plus ancien"
    },
    "es": {
      "search.label": "Buscar en los documentos de las Naciones Unidas",
      "search.button": "Buscar",
      "widget.results": "Resultados de la búsqueda",
      "widget.brand": "Búsqueda con citas por párrafo: {link}",
      "result.otherLanguages": "Otros idiomas:",
      "status.typeFirst": "Escriba primero una pregunta o palabras clave.",
      "status.searching": "Buscando…",
      "widget.unavailable": "La búsqueda no está disponible aquí: el servicio en {host} rechazó esta página o no se pudo acceder a él.",
      "widget.failed": "La búsqueda falló: {detail}",
      "result.weak": "coincidencia débil",
      "widget.all": "Todos los resultados en parasearch",
      "status.none": "No hay resultados para «{q}».",
      "status.notFound": {"one": "No hay una buena coincidencia para «{q}»; se muestra {n} pasaje cercano.", "other": "No hay una buena coincidencia para «{q}»; se muestran {n} pasajes cercanos."},
      "status.results": {"one": "{n} resultado para «{q}».", "other": "{n} resultados para «{q}»."},
      "answer.heading": "Respuesta",
      "answer.closest": "Pasaje más cercano",
      "answer.closestNote": "Es posible que este pasaje no responda a la pregunta.",
      "answer.notFound": "No se encontró respuesta",
      "answer.composing": "Redactando una respuesta con citas…",
      "answer.extractive": "Oraciones citadas textualmente de los párrafos indicados.",
      "answer.llm": "Redactado por un modelo de lenguaje a partir de los párrafos citados: verifíquelos.",
      "answer.items": "Documentos, del más reciente al más antiguo"
    },
    "ru": {
      "search.label": "Поиск по документам ООН",
      "search.button": "Найти",
      "widget.results": "Результаты поиска",
      "widget.brand": "Поиск со ссылками на пункты: {link}",
      "result.otherLanguages": "Другие языки:",
      "status.typeFirst": "Сначала введите вопрос или ключевые слова.",
      "status.searching": "Идёт поиск…",
      "widget.unavailable": "Поиск здесь недоступен: служба по адресу {host} отклонила эту страницу или недоступна.",
      "widget.failed": "Поиск не удался: {detail}",
      "result.weak": "слабое совпадение",
      "widget.all": "Все результаты на parasearch",
      "status.none": "По запросу «{q}» ничего не найдено.",
      "status.notFound": {"one": "Нет точных совпадений для «{q}»; показан {n} близкий фрагмент.", "few": "Нет точных совпадений для «{q}»; показаны {n} близких фрагмента.", "many": "Нет точных совпадений для «{q}»; показано {n} близких фрагментов.", "other": "Нет точных совпадений для «{q}»; показано {n} близкого фрагмента."},
      "status.results": {"one": "{n} результат по запросу «{q}».", "few": "{n} результата по запросу «{q}».", "many": "{n} результатов по запросу «{q}».", "other": "{n} результата по запросу «{q}»."},
      "answer.heading": "Ответ",
      "answer.closest": "Наиболее близкий фрагмент",
      "answer.closestNote": "Этот фрагмент может не отвечать на вопрос.",
      "answer.notFound": "Ответ не найден",
      "answer.composing": "Составляется ответ со ссылками…",
      "answer.extractive": "Предложения процитированы из указанных пунктов.",
      "answer.llm": "Составлено языковой моделью на основе указанных пунктов: проверьте их.",
      "answer.items": "Документы, сначала новые"
    },
    "zh": {
      "search.label": "检索联合国文件",
      "search.button": "检索",
      "widget.results": "检索结果",
      "widget.brand": "按段引用检索，由 {link} 提供",
      "result.otherLanguages": "其他语文：",
      "status.typeFirst": "请先输入问题或关键词。",
      "status.searching": "正在检索…",
      "widget.unavailable": "此处无法检索：{host} 上的服务拒绝了此页面或无法连接。",
      "widget.failed": "检索失败：{detail}",
      "result.weak": "弱匹配",
      "widget.all": "在 parasearch 上查看全部结果",
      "status.none": "未找到“{q}”的结果。",
      "status.notFound": "“{q}”没有良好匹配；显示 {n} 个最接近的段落。",
      "status.results": "“{q}”共有 {n} 个结果。",
      "answer.heading": "答案",
      "answer.closest": "最接近的段落",
      "answer.closestNote": "此段落可能并未回答该问题。",
      "answer.notFound": "未找到答案",
      "answer.composing": "正在撰写附有引文的答案…",
      "answer.extractive": "句子摘自所引段落。",
      "answer.llm": "由语言模型根据所引段落撰写：请核对原文。",
      "answer.items": "文件，按从新到旧排列"
    },
    "ar": {
      "search.label": "البحث في وثائق الأمم المتحدة",
      "search.button": "بحث",
      "widget.results": "نتائج البحث",
      "widget.brand": "بحث مع الإحالة إلى الفقرات من {link}",
      "result.otherLanguages": "لغات أخرى:",
      "status.typeFirst": "اكتب سؤالاً أو كلمات مفتاحية أولاً.",
      "status.searching": "جارٍ البحث…",
      "widget.unavailable": "البحث غير متاح هنا: رفضت الخدمة في {host} هذه الصفحة أو تعذّر الوصول إليها.",
      "widget.failed": "فشل البحث: {detail}",
      "result.weak": "مطابقة ضعيفة",
      "widget.all": "جميع النتائج على parasearch",
      "status.none": "لا نتائج لـ «{q}».",
      "status.notFound": {"zero": "لا مطابقة جيدة لـ «{q}»، ولا مقاطع قريبة.", "one": "لا مطابقة جيدة لـ «{q}»؛ يُعرض أقرب مقطع.", "two": "لا مطابقة جيدة لـ «{q}»؛ يُعرض أقرب مقطعين.", "few": "لا مطابقة جيدة لـ «{q}»؛ تُعرض {n} مقاطع قريبة.", "many": "لا مطابقة جيدة لـ «{q}»؛ يُعرض {n} مقطعاً قريباً.", "other": "لا مطابقة جيدة لـ «{q}»؛ يُعرض {n} مقطع قريب."},
      "status.results": {"zero": "لا نتائج لـ «{q}».", "one": "نتيجة واحدة لـ «{q}».", "two": "نتيجتان لـ «{q}».", "few": "{n} نتائج لـ «{q}».", "many": "{n} نتيجة لـ «{q}».", "other": "{n} نتيجة لـ «{q}»."},
      "answer.heading": "الإجابة",
      "answer.closest": "أقرب مقطع",
      "answer.closestNote": "قد لا يجيب هذا المقطع عن السؤال.",
      "answer.notFound": "لم يُعثر على إجابة",
      "answer.composing": "جارٍ إعداد إجابة مع الإحالات…",
      "answer.extractive": "جمل مقتبسة من الفقرات المشار إليها.",
      "answer.llm": "كتبها نموذج لغوي استناداً إلى الفقرات المشار إليها: يرجى التحقق منها.",
      "answer.items": "الوثائق، الأحدث أولاً"
    }
  } /* widget-catalogue:end */;
  const RTL = new Set(["ar"]);
  const LOCALES = { ar: "ar-u-nu-latn", zh: "zh-CN", en: "en", fr: "fr", ru: "ru", es: "es" };

  // The widget's language: data-lang, else the host page's <html lang>, else English ("fr-CA" -> "fr").
  function widgetLanguage(script) {
    for (const code of [script.dataset.lang, document.documentElement.lang]) {
      const base = String(code || "").trim().toLowerCase().split(/[-_]/)[0];
      if (Object.prototype.hasOwnProperty.call(MESSAGES, base)) return base;
    }
    return "en";
  }

  function translator(lang) {
    const rules = new Intl.PluralRules(LOCALES[lang]);
    const numbers = new Intl.NumberFormat(LOCALES[lang]);
    return (key, vars) => {
      let message = MESSAGES[lang][key] !== undefined ? MESSAGES[lang][key] : MESSAGES.en[key];
      if (message && typeof message === "object") {
        const form = vars && typeof vars.n === "number" ? rules.select(vars.n) : "other";
        message = message[form] !== undefined ? message[form] : message.other;
      }
      return String(message).replace(/\{(\w+)\}/g, (whole, name) => (vars && name in vars
        ? (typeof vars[name] === "number" ? numbers.format(vars[name]) : String(vars[name])) : whole));
    };
  }

  let counter = 0;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  // The server escapes snippets and adds <mark>; keep exactly text and <mark>, nothing else.
  function safeSnippet(markup) {
    const tpl = document.createElement("template");
    tpl.innerHTML = markup;
    const out = document.createDocumentFragment();
    for (const node of tpl.content.childNodes) {
      if (node.nodeType === Node.ELEMENT_NODE && node.nodeName === "MARK") out.append(el("mark", { text: node.textContent }));
      else out.append(document.createTextNode(node.textContent || ""));
    }
    return out;
  }

  function init(script) {
    if (!script.src || script.dataset.parasearchReady) return;
    script.dataset.parasearchReady = "1";
    const base = new URL(".", script.src); // the service, wherever it is mounted
    const d = script.dataset;
    const k = Math.min(20, Math.max(1, parseInt(d.k || "5", 10) || 5));
    const fixed = ["body", "type", "language"].filter((f) => d[f]).map((f) => [f, d[f]]);
    const newTab = d.newTab === "true";
    const withAnswer = d.answer === "true";
    const uid = `ps-${++counter}`;
    const lang = widgetLanguage(script);
    const t = translator(lang);

    const host = document.createElement("parasearch-widget");
    const where = d.target ? document.querySelector(d.target) : null;
    if (where) where.append(host);
    else script.after(host);
    const root = host.attachShadow({ mode: "open" });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch {
      root.append(el("style", { text: CSS }));
    }

    const input = el("input", { id: `${uid}-q`, type: "search", maxlength: "1000", autocomplete: "off",
      placeholder: d.placeholder || t("search.label") });
    const button = el("button", { type: "submit", text: t("search.button") });
    const form = el("form", { role: "search", "aria-label": d.label || t("search.label") },
      el("label", { for: `${uid}-q`, text: d.label || t("search.label") }),
      el("div", { className: "row" }, input, button));
    const status = el("p", { className: "status", role: "status", "aria-live": "polite" });
    const answerHeading = el("h2", { id: `${uid}-answer` });
    const answerBox = el("section", { className: "answer", "aria-labelledby": `${uid}-answer`, hidden: "" });
    const list = el("ol", { className: "results", "aria-label": t("widget.results") });
    const more = el("p", { className: "more" });
    const [before, after] = t("widget.brand").split("{link}");
    const brand = el("p", { className: "brand" }, before || null, el("a", { href: base.href, text: "parasearch" }),
      after || null);
    root.append(el("div", { className: "ps", part: "panel", lang, dir: RTL.has(lang) ? "rtl" : "ltr" }, form,
      status, answerBox, list, more, brand));

    const linkProps = newTab ? { target: "_blank", rel: "noopener" } : {};
    // The document view of one language version, at the paragraph (the API's `url`, on the service's origin).
    function docHref(symbol, para, language) {
      const path = symbol.split("/").map(encodeURIComponent).join("/");
      const query = language ? `?language=${encodeURIComponent(language)}` : "";
      return new URL(`documents/${path}${query}#para-${encodeURIComponent(para)}`, base).href;
    }

    function versionLinks(r) {
      if (!Array.isArray(r.versions) || !r.versions.length) return null;
      const p = el("p", { className: "versions" }, t("result.otherLanguages"));
      for (const v of r.versions) {
        p.append(" ", el("a", { className: "version", href: docHref(r.symbol, r.para, v.language),
          hreflang: v.language, "data-language": v.language, "aria-label": `${r.citation} (${v.language})`,
          text: v.language.toUpperCase(), ...linkProps }));
      }
      return p;
    }

    function setStatus(text, isError, notFound) {
      status.textContent = "";
      status.classList.toggle("error", Boolean(isError));
      status.classList.toggle("not-found", Boolean(notFound));
      window.setTimeout(() => { status.textContent = text; }, 30);
    }

    // The answer box: its heading says the state in words; each run of sentences citing the same paragraphs is led
    // once by those citations ("S/RES/2542 (2020), para. 7: Decides ..."); a list answer's items follow.
    const STATES = { answer: ["answer.heading", ""], closest: ["answer.closest", "answer.closestNote"],
      not_found: ["answer.notFound", ""] };

    function citeLink(c) {
      return el("a", { className: "cite", href: docHref(c.symbol, c.para, c.language), hreflang: c.language,
        text: c.citation, ...linkProps });
    }

    function showAnswer(data) {
      const state = Object.prototype.hasOwnProperty.call(STATES, data.state) ? data.state
        : (data.found === false ? "not_found" : "answer");
      const [heading, note] = STATES[state];
      answerBox.dataset.state = state;
      answerBox.removeAttribute("aria-busy");
      answerHeading.textContent = t(heading);
      const body = [answerHeading];
      if (note) body.push(el("p", { className: "state-note", text: t(note) }));
      const sentences = (Array.isArray(data.sentences) ? data.sentences : [])
        .filter((x) => x.supported !== false && Array.isArray(x.citations) && x.citations.length);
      if (state === "not_found" || !sentences.length) {
        if (data.answer) body.push(el("p", { className: "note", text: data.answer }));
      } else {
        const runs = [];
        const key = (x) => x.citations.map((c) => c.citation).join("; ");
        for (const x of sentences) {
          const last = runs[runs.length - 1];
          if (last && last.key === key(x)) last.texts.push(x.text);
          else runs.push({ key: key(x), citations: x.citations, texts: [x.text] });
        }
        for (const run of runs) {
          const p = el("p", { className: "run" });
          run.citations.forEach((c, i) => { if (i) p.append("; "); p.append(citeLink(c)); });
          p.append(": ", run.texts.join(" "));
          body.push(p);
        }
      }
      const items = Array.isArray(data.items) ? data.items : [];
      if (items.length) {
        body.push(el("ol", { "aria-label": t("answer.items") }, ...items.map((item) => el("li", null,
          item.date ? `${item.date} ` : null, citeLink(item)))));
      }
      if (typeof data.method === "string" && state !== "not_found") {
        body.push(el("p", { className: "note", text: t(data.method.startsWith("llm") ? "answer.llm"
          : "answer.extractive") }));
      }
      answerBox.replaceChildren(...body);
      answerBox.hidden = false;
    }

    async function askAnswer(q, signal) {
      answerHeading.textContent = t("answer.heading");
      answerBox.dataset.state = "";
      answerBox.setAttribute("aria-busy", "true");
      answerBox.replaceChildren(answerHeading, el("p", { className: "note", text: t("answer.composing") }));
      answerBox.hidden = false;
      const filters = {};
      for (const [f, v] of fixed) filters[f] = [v];
      try {
        const res = await fetch(new URL("answer", base), {
          method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ question: q, filters }), mode: "cors", credentials: "omit", signal,
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`); // no answers here (404), a limit (429): no box
        const data = await res.json();
        if (!signal.aborted) showAnswer(data);
      } catch (err) {
        if (err.name !== "AbortError") answerBox.hidden = true;
      }
    }

    let inflight = null;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const q = input.value.trim();
      if (!q) {
        setStatus(t("status.typeFirst"));
        input.focus();
        return;
      }
      if (inflight) inflight.abort();
      inflight = new AbortController();
      const params = new URLSearchParams({ q, k: String(k) });
      for (const [f, v] of fixed) params.append(f, v);
      list.replaceChildren();
      more.replaceChildren();
      answerBox.hidden = true;
      answerBox.replaceChildren();
      setStatus(t("status.searching"));
      if (withAnswer) askAnswer(q, inflight.signal); // beside the search: the results never wait for it
      let res;
      try {
        res = await fetch(new URL(`search?${params}`, base), {
          headers: { Accept: "application/json" }, mode: "cors", credentials: "omit", signal: inflight.signal,
        });
      } catch (err) {
        if (err.name === "AbortError") return;
        setStatus(t("widget.unavailable", { host: base.host }), true);
        return;
      }
      let data = {};
      try { data = await res.json(); } catch { data = {}; }
      if (!res.ok) {
        setStatus(t("widget.failed", { detail: typeof data.detail === "string" ? data.detail : `HTTP ${res.status}` }),
          true);
        return;
      }
      const results = data.results || [];
      for (const r of results) {
        const meta = [r.date, r.title].filter(Boolean).join(" · ");
        const snippet = el("p", { className: "snippet" });
        snippet.append(r.snippet ? safeSnippet(r.snippet) : document.createTextNode(r.text || ""));
        if (r.language) snippet.setAttribute("lang", r.language);
        list.append(el("li", { className: r.weak ? "weak" : null, "data-language": r.language },
          el("a", { className: "cite", href: docHref(r.symbol, r.para, r.language), hreflang: r.language,
            text: r.citation, ...linkProps }),
          r.language ? el("abbr", { className: "badge", title: r.language, text: r.language.toUpperCase() }) : null,
          r.weak ? el("span", { className: "tag", text: t("result.weak") }) : null,
          meta ? el("p", { className: "meta", text: meta }) : null,
          snippet, versionLinks(r)));
      }
      const page = new URLSearchParams({ q });
      for (const [f, v] of fixed) page.set(f, v);
      const full = new URL(`?${page}`, base).href;
      more.append(el("a", { href: full, text: t("widget.all"), ...linkProps }));
      const n = results.length;
      const notFound = n > 0 && data.state === "not_found";
      setStatus(!n ? t("status.none", { q }) : t(notFound ? "status.notFound" : "status.results", { q, n }), false,
        notFound);
    });
  }

  function initAll() {
    for (const script of document.querySelectorAll("script[data-parasearch]")) init(script);
  }
  const me = document.currentScript;
  if (me && !me.dataset.target) init(me); // render in place at once, while the page is still loading
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
