// Helpers shared by the contact and search pages (loaded first, exposed as window.Site).
"use strict";

window.Site = (() => {
  const TYPE_LABELS = {
    "application/pdf": "PDF",
    "text/plain": "Text",
    "text/markdown": "Markdown",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
  };

  const STATUS_LABELS = {
    pending: "Pending",
    processing: "Processing",
    completed: "Processed",
    failed: "Failed",
  };

  /** "1.5 MB" style sizes, in powers of 1024 as the limits are. */
  function formatBytes(bytes) {
    if (bytes < 1024) {
      return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
    }
    const units = ["KB", "MB", "GB"];
    let value = bytes;
    let unit = -1;
    do {
      value /= 1024;
      unit += 1;
    } while (value >= 1024 && unit < units.length - 1);
    const digits = value < 10 && !Number.isInteger(value) ? 1 : 0;
    return `${value.toFixed(digits)} ${units[unit]}`;
  }

  function typeLabel(contentType) {
    return TYPE_LABELS[contentType] || contentType || "Unknown type";
  }

  function formatDate(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) {
      return iso;
    }
    return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(
      date,
    );
  }

  /** document.createElement with properties, attributes (data-*, aria-*) and children. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) {
        continue;
      }
      if (key === "class") {
        node.className = value;
      } else if (key.startsWith("aria-") || key.startsWith("data-") || key === "role") {
        node.setAttribute(key, String(value));
      } else {
        node[key] = value;
      }
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  function statusBadge(status) {
    return el(
      "span",
      { class: `badge badge-${status}`, "data-status": status },
      STATUS_LABELS[status] || status,
    );
  }

  /**
   * The API's error as {status, code, message, details, retryAfter}. Every API error body is
   * {"error": {"code", "message", "details"}}; anything else (the edge's own plain-text 413,
   * its "service unavailable" page) gets a message from its status.
   */
  function apiError(status, bodyText, retryAfterHeader) {
    let error = null;
    try {
      const parsed = JSON.parse(bodyText);
      if (parsed && typeof parsed.error === "object" && parsed.error) {
        error = parsed.error;
      }
    } catch {
      error = null;
    }
    const retry = Number.parseInt(retryAfterHeader || "", 10);
    return {
      status,
      code: (error && error.code) || `http_${status}`,
      message: (error && typeof error.message === "string" && error.message) || "",
      details: error ? error.details : null,
      retryAfter: Number.isFinite(retry) && retry >= 0 ? retry : null,
    };
  }

  function tryAgainText(retryAfter) {
    if (retryAfter === null || retryAfter === undefined) {
      return "Please try again in a moment.";
    }
    return `Please try again in ${retryAfter} ${retryAfter === 1 ? "second" : "seconds"}.`;
  }

  return { apiError, el, formatBytes, formatDate, statusBadge, tryAgainText, typeLabel };
})();
