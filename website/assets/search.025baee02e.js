// Document search: the query lives in the URL (?q=&tag=&content_type=&offset=), so results
// are linkable and the back button works. Snippets are built from text nodes and <mark>
// elements; server text is never assigned to innerHTML.
"use strict";

(() => {
  const { apiError, el, formatBytes, formatDate, statusBadge, tryAgainText, typeLabel } =
    window.Site;

  const PAGE_SIZE = 10;
  const MAX_OFFSET = 10000;
  const PARAMS = ["q", "tag", "content_type"];

  const byId = (id) => document.getElementById(id);
  const form = byId("search-form");
  const results = byId("results");
  const resultsTitle = byId("results-title");
  const resultCount = byId("result-count");
  const searchError = byId("search-error");
  const hitList = byId("hits");
  const empty = byId("empty");
  const pagination = byId("pagination");
  const previous = byId("previous");
  const next = byId("next");
  const pageStatus = byId("page-status");

  let controller = null;

  // ---- state <-> URL --------------------------------------------------------------------

  function stateFromUrl() {
    const params = new URLSearchParams(window.location.search);
    const offset = Number.parseInt(params.get("offset") || "0", 10);
    return {
      q: (params.get("q") || "").trim(),
      tag: (params.get("tag") || "").trim(),
      content_type: params.get("content_type") || "",
      offset: Number.isFinite(offset) ? Math.min(Math.max(offset, 0), MAX_OFFSET) : 0,
    };
  }

  function stateFromForm() {
    return {
      q: form.elements.namedItem("q").value.trim(),
      tag: form.elements.namedItem("tag").value.trim(),
      content_type: form.elements.namedItem("content_type").value,
      offset: 0,
    };
  }

  function fillForm(state) {
    form.elements.namedItem("q").value = state.q;
    form.elements.namedItem("tag").value = state.tag;
    const select = form.elements.namedItem("content_type");
    select.value = state.content_type;
    if (select.value !== state.content_type) {
      select.value = ""; // a type this page does not offer
    }
  }

  function query(state) {
    const params = new URLSearchParams();
    for (const name of PARAMS) {
      if (state[name]) {
        params.set(name, state[name]);
      }
    }
    if (state.offset) {
      params.set("offset", String(state.offset));
    }
    return params;
  }

  function pageUrl(state) {
    const params = query(state).toString();
    return params ? `${window.location.pathname}?${params}` : window.location.pathname;
  }

  const hasSearch = (state) => PARAMS.some((name) => state[name]);

  // ---- snippets -------------------------------------------------------------------------

  /** The text an HTML-escaped fragment stands for, decoded by an inert parser. */
  function decodeEntities(fragment) {
    if (!fragment.includes("&")) {
      return fragment;
    }
    // The parser drops leading whitespace before the body starts: keep it aside.
    const [, before, core, after] = /^(\s*)([\s\S]*?)(\s*)$/.exec(fragment);
    const text = new DOMParser().parseFromString(core, "text/html").documentElement.textContent;
    return `${before}${text}${after}`;
  }

  /** "a &amp; <mark>b</mark>" as nodes: text, then <mark>b</mark>; nothing else is markup. */
  function snippetNodes(snippet) {
    const nodes = [];
    let inMark = false;
    for (const piece of snippet.split(/(<mark>|<\/mark>)/)) {
      if (piece === "<mark>") {
        inMark = true;
      } else if (piece === "</mark>") {
        inMark = false;
      } else if (piece) {
        const text = decodeEntities(piece);
        nodes.push(inMark ? el("mark", {}, text) : document.createTextNode(text));
      }
    }
    return nodes;
  }

  // ---- rendering ------------------------------------------------------------------------

  function metaItems(doc) {
    const insights = doc.insights || {};
    const items = [
      statusBadge(doc.processing_status),
      typeLabel(doc.content_type),
      formatBytes(doc.size_bytes),
    ];
    if (Number.isInteger(insights.page_count)) {
      items.push(`${insights.page_count} ${insights.page_count === 1 ? "page" : "pages"}`);
    }
    if (Number.isInteger(insights.word_count) && insights.word_count > 0) {
      const words = insights.word_count;
      items.push(`${words.toLocaleString()} ${words === 1 ? "word" : "words"}`);
    }
    if (insights.image && insights.image.width && insights.image.height) {
      items.push(`${insights.image.width} × ${insights.image.height} px`);
    }
    items.push(
      el(
        "span",
        {},
        "Received ",
        el("time", { dateTime: doc.created_at }, formatDate(doc.created_at)),
      ),
    );
    return items.map((item) => el("li", {}, item));
  }

  function renderHit(hit) {
    const doc = hit.document;
    const keywords = Array.isArray(doc.insights && doc.insights.top_keywords)
      ? doc.insights.top_keywords.slice(0, 6).map((keyword) => keyword.word)
      : [];
    const snippet = hit.snippet ? snippetNodes(hit.snippet) : [];
    return el(
      "li",
      { class: "card hit" },
      el(
        "h3",
        { class: "hit-title" },
        el("a", { href: doc.download_url, download: doc.filename }, doc.filename),
      ),
      el("ul", { class: "hit-meta", "aria-label": "Details" }, metaItems(doc)),
      snippet.length
        ? el("p", { class: "snippet" }, snippet)
        : el("p", { class: "snippet snippet-empty" }, "No text preview for this file."),
      doc.processing_status === "failed" && doc.processing_error
        ? el("p", { class: "processing-error" }, `Processing failed: ${doc.processing_error}`)
        : null,
      keywords.length
        ? el(
            "div",
            { class: "keywords-row" },
            el("span", { class: "keywords-label", id: `keywords-${doc.id}` }, "Keywords"),
            el(
              "ul",
              { class: "keywords", "aria-labelledby": `keywords-${doc.id}` },
              keywords.map((word) => el("li", {}, word)),
            ),
          )
        : null,
    );
  }

  function describe(state) {
    const parts = [];
    if (state.q) {
      parts.push(`matching “${state.q}”`);
    }
    if (state.tag) {
      parts.push(`tagged “${state.tag}”`);
    }
    if (state.content_type) {
      parts.push(`of type ${typeLabel(state.content_type)}`);
    }
    return parts.join(", ");
  }

  function setPageLink(link, state, offset, enabled) {
    if (enabled) {
      link.href = pageUrl({ ...state, offset });
      link.removeAttribute("aria-disabled");
    } else {
      link.removeAttribute("href");
      link.setAttribute("aria-disabled", "true");
    }
  }

  function render(state, data) {
    const total = data.total;
    const hits = data.hits;
    hitList.start = data.offset + 1;
    hitList.replaceChildren(...hits.map(renderHit));
    const what = describe(state);
    if (hits.length) {
      const first = data.offset + 1;
      const last = data.offset + hits.length;
      const noun = total === 1 ? "document" : "documents";
      resultCount.textContent =
        total > hits.length
          ? `Showing ${first}–${last} of ${total} ${noun} ${what}.`
          : `${total} ${noun} ${what}.`;
    } else if (total > 0) {
      resultCount.textContent = `No more results: all ${total} are on earlier pages.`;
    } else {
      resultCount.textContent = `No documents ${what}.`;
    }
    empty.hidden = total > 0;

    const pages = Math.ceil(total / PAGE_SIZE);
    const page = Math.floor(data.offset / PAGE_SIZE) + 1;
    pagination.hidden = pages <= 1 && data.offset === 0;
    setPageLink(previous, state, Math.max(0, data.offset - PAGE_SIZE), data.offset > 0);
    setPageLink(next, state, data.offset + PAGE_SIZE, data.offset + PAGE_SIZE < total);
    pageStatus.textContent = `Page ${page} of ${Math.max(pages, 1)}`;
  }

  function showError(error) {
    let text;
    if (error.status === 503 && error.code === "search_unavailable") {
      text = `Search is temporarily unavailable. ${tryAgainText(error.retryAfter)}`;
    } else if (error.status === 0) {
      text = "The server could not be reached. Check your connection and try again.";
    } else if (error.status >= 502 && error.status <= 504) {
      text = `The service is temporarily unavailable. ${tryAgainText(error.retryAfter)}`;
    } else if (error.status === 422) {
      const details = Array.isArray(error.details) ? error.details : [];
      text = `The search was not accepted: ${
        details.map((d) => `${d.field}: ${d.message}`).join("; ") || error.message
      }.`;
    } else {
      text = error.message || `Something went wrong (error ${error.status}).`;
    }
    searchError.replaceChildren(el("p", {}, text));
    searchError.hidden = false;
    resultCount.textContent = "The search could not be completed.";
  }

  function clearResults() {
    hitList.replaceChildren();
    empty.hidden = true;
    pagination.hidden = true;
    searchError.hidden = true;
    searchError.replaceChildren();
  }

  // ---- searching ------------------------------------------------------------------------

  async function run(state, { focusResults = false } = {}) {
    if (controller) {
      controller.abort();
    }
    clearResults();
    if (!hasSearch(state)) {
      resultCount.textContent = "Enter a word to search the documents.";
      return;
    }
    controller = new AbortController();
    const params = query(state);
    params.set("q", state.q);
    params.set("limit", String(PAGE_SIZE));
    params.set("offset", String(state.offset));
    results.setAttribute("aria-busy", "true");
    resultCount.textContent = "Searching…";
    try {
      const response = await fetch(`/api/documents/search?${params}`, {
        headers: { Accept: "application/json" },
        signal: controller.signal,
      });
      const body = await response.text();
      if (response.ok) {
        render(state, JSON.parse(body));
      } else {
        showError(apiError(response.status, body, response.headers.get("Retry-After")));
      }
    } catch (error) {
      if (error.name === "AbortError") {
        return; // a newer search replaced this one
      }
      showError({ status: 0 });
    } finally {
      results.setAttribute("aria-busy", "false");
    }
    if (focusResults) {
      resultsTitle.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const state = stateFromForm();
    window.history.pushState(null, "", pageUrl(state));
    run(state);
  });

  for (const link of [previous, next]) {
    link.addEventListener("click", (event) => {
      // Ordinary links (new tab, copy address) keep working; a plain click stays on the page.
      if (!link.href || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
        return;
      }
      event.preventDefault();
      window.history.pushState(null, "", link.href);
      run(stateFromUrl(), { focusResults: true });
    });
  }

  window.addEventListener("popstate", () => {
    const state = stateFromUrl();
    fillForm(state);
    run(state);
  });

  const initial = stateFromUrl();
  fillForm(initial);
  run(initial);
})();
