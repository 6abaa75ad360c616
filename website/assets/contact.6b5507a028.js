// The contact form: the API's limits mirrored client-side, attachments by picker or drag and
// drop, a multipart upload with real progress (XMLHttpRequest), and the API's errors shown
// next to the fields they concern. The user's input is kept on every failure.
"use strict";

(() => {
  const { apiError, el, formatBytes, statusBadge, tryAgainText } = window.Site;

  // The API's documented defaults, used until GET /api/limits answers (or if it cannot).
  const DEFAULT_LIMITS = {
    fields: {
      name: { required: true, max_length: 200 },
      email: { required: true, max_length: 254 },
      subject: { required: true, max_length: 200 },
      message: { required: true, max_length: 10000 },
    },
    max_tags: 20,
    max_attachments: 5,
    max_upload_bytes: 26214400,
    allowed_types: [
      "application/pdf",
      "image/gif",
      "image/jpeg",
      "image/png",
      "image/webp",
      "text/markdown",
      "text/plain",
    ],
    allowed_extensions: [
      ".csv",
      ".gif",
      ".jpeg",
      ".jpg",
      ".log",
      ".markdown",
      ".md",
      ".pdf",
      ".png",
      ".text",
      ".txt",
      ".webp",
    ],
  };
  const TEXT_FIELDS = ["name", "email", "subject", "message"];
  const FORM_ORDER = [...TEXT_FIELDS, "tags", "files"];
  const REQUIRED_MESSAGES = {
    name: "Enter your name.",
    email: "Enter your email address.",
    subject: "Enter a subject.",
    message: "Enter a message.",
  };
  const ATTACHMENT_CODES = new Set([
    "empty_file",
    "unsupported_file_type",
    "file_type_mismatch",
    "too_many_attachments",
  ]);
  const FINAL_STATUSES = new Set(["completed", "failed"]);
  const POLL_INTERVAL_MS = 1500;
  const POLL_ATTEMPTS = 60;

  const byId = (id) => document.getElementById(id);
  const form = byId("contact-form");
  const submitButton = byId("submit");
  const fileInput = byId("files");
  const dropzone = byId("dropzone");
  const fileList = byId("file-list");
  const filesError = byId("files-error");
  const filesLive = byId("files-live");
  const formError = byId("form-error");
  const success = byId("success");
  const successFiles = byId("success-files");
  const progressBox = byId("progress");
  const progressBar = byId("progress-bar");
  const progressPercent = byId("progress-percent");
  const progressLabel = byId("progress-label");
  const progressLive = byId("progress-live");
  const messageCounter = byId("message-counter");

  let limits = DEFAULT_LIMITS;
  let chosen = []; // the File objects to send, in the order they were chosen
  let rejectedNames = new Set(); // names the API refused, highlighted until the list changes
  let sending = false;
  let lastAnnouncedStep = -1;
  let pollGeneration = 0;
  const touched = new Set(); // fields shown invalid once are re-checked as the user types

  const input = (name) => form.elements.namedItem(name);

  // ---- limits ---------------------------------------------------------------------------

  async function loadLimits() {
    try {
      const response = await fetch("/api/limits", { headers: { Accept: "application/json" } });
      if (!response.ok) {
        throw new Error(`GET /api/limits answered ${response.status}`);
      }
      const loaded = await response.json();
      limits = {
        ...DEFAULT_LIMITS,
        ...loaded,
        fields: { ...DEFAULT_LIMITS.fields, ...(loaded.fields || {}) },
      };
    } catch {
      byId("limits-warning").hidden = false;
    }
    applyLimits();
  }

  function applyLimits() {
    for (const name of TEXT_FIELDS) {
      const rule = limits.fields[name];
      input(name).required = Boolean(rule.required);
      input(name).maxLength = rule.max_length;
    }
    byId("max-tags").textContent = String(limits.max_tags);
    fileInput.accept = [...limits.allowed_extensions, ...limits.allowed_types].join(",");
    const count = limits.max_attachments;
    byId("files-hint").textContent =
      count > 0
        ? `Up to ${count} ${count === 1 ? "file" : "files"}, ${formatBytes(
            limits.max_upload_bytes,
          )} each: ${limits.allowed_extensions.join(", ")}.`
        : "Attachments are not accepted at the moment.";
    fileInput.disabled = count === 0;
    updateCounter();
  }

  // ---- validation -----------------------------------------------------------------------

  const codePoints = (text) => [...text].length;

  function parseTags(text) {
    const tags = text
      .split(",")
      .map((tag) => tag.trim().toLowerCase())
      .filter(Boolean);
    return [...new Set(tags)];
  }

  function fieldProblem(name) {
    const field = input(name);
    if (name === "tags") {
      const count = parseTags(field.value).length;
      return count > limits.max_tags
        ? `Use at most ${limits.max_tags} tags (you entered ${count}).`
        : "";
    }
    const rule = limits.fields[name];
    const value = field.value.trim();
    if (!value) {
      return rule.required ? REQUIRED_MESSAGES[name] : "";
    }
    const length = codePoints(value);
    if (length > rule.max_length) {
      return `Use at most ${rule.max_length.toLocaleString()} characters (you entered ${length.toLocaleString()}).`;
    }
    // The browser's own email check (the HTML standard's); the API applies a stricter one.
    if (name === "email" && field.validity.typeMismatch) {
      return "Enter an email address in the format name@example.com.";
    }
    return "";
  }

  function extensionOf(filename) {
    const dot = filename.lastIndexOf(".");
    return dot > 0 ? filename.slice(dot).toLowerCase() : "";
  }

  function fileProblem(file) {
    const extension = extensionOf(file.name);
    if (!limits.allowed_extensions.includes(extension)) {
      const what = extension ? `${extension} files are` : "files without an extension are";
      return `${file.name} was not added: ${what} not accepted. Accepted: ${limits.allowed_extensions.join(", ")}.`;
    }
    // Browsers guess the type from the name; text files come in many text/* flavours.
    if (file.type && !limits.allowed_types.includes(file.type) && !file.type.startsWith("text/")) {
      return `${file.name} was not added: files of type ${file.type} are not accepted.`;
    }
    if (file.size === 0) {
      return `${file.name} was not added: the file is empty.`;
    }
    if (file.size > limits.max_upload_bytes) {
      let size = formatBytes(file.size);
      let limit = formatBytes(limits.max_upload_bytes);
      if (size === limit) {
        // "1 MB, at most 1 MB" would read as a contradiction: give the bytes.
        size = `${file.size.toLocaleString()} bytes`;
        limit = `${limits.max_upload_bytes.toLocaleString()} bytes`;
      }
      return `${file.name} was not added: it is ${size}, and each file may be at most ${limit}.`;
    }
    return "";
  }

  function showFieldError(name, messages) {
    const list = Array.isArray(messages) ? messages : [messages];
    const target = byId(`${name}-error`);
    target.replaceChildren(
      list.length === 1 ? list[0] : el("ul", {}, list.map((message) => el("li", {}, message))),
    );
    target.hidden = false;
    input(name).setAttribute("aria-invalid", "true");
  }

  function clearFieldError(name) {
    const target = byId(`${name}-error`);
    target.hidden = true;
    target.replaceChildren();
    input(name).removeAttribute("aria-invalid");
  }

  function showFormError(text, extra = []) {
    formError.replaceChildren(el("h2", {}, "Your message was not sent"), el("p", {}, text));
    if (extra.length) {
      formError.append(el("ul", {}, extra.map((message) => el("li", {}, message))));
    }
    formError.hidden = false;
  }

  function clearErrors() {
    formError.hidden = true;
    formError.replaceChildren();
    for (const name of FORM_ORDER) {
      clearFieldError(name);
    }
  }

  /** Checks every field, shows what is wrong and returns the first invalid input (or null). */
  function validateAll() {
    const invalid = [];
    for (const name of [...TEXT_FIELDS, "tags"]) {
      const problem = fieldProblem(name);
      if (problem) {
        showFieldError(name, problem);
        touched.add(name);
        invalid.push(name);
      } else {
        clearFieldError(name);
      }
    }
    // Limits may have arrived after files were chosen: check the chosen files again.
    const fileProblems = chosen.map(fileProblem).filter(Boolean);
    if (chosen.length > limits.max_attachments) {
      fileProblems.push(`Attach at most ${limits.max_attachments} files; remove some.`);
    }
    if (fileProblems.length) {
      showFieldError("files", fileProblems);
      invalid.push("files");
    }
    return invalid.length ? input(invalid[0]) : null;
  }

  function updateCounter() {
    const max = limits.fields.message.max_length;
    const count = codePoints(input("message").value);
    messageCounter.textContent = `${count.toLocaleString()} / ${max.toLocaleString()} characters`;
    messageCounter.classList.toggle("counter-over", count > max);
  }

  form.addEventListener("input", (event) => {
    const name = event.target.name;
    if (name === "message") {
      updateCounter();
    }
    // Attachments are checked as they are chosen (addFiles), not here.
    if (touched.has(name) && name !== "files") {
      const problem = fieldProblem(name);
      if (problem) {
        showFieldError(name, problem);
      } else {
        clearFieldError(name);
      }
    }
  });

  // ---- attachments ----------------------------------------------------------------------

  const sameFile = (a, b) =>
    a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;

  function addFiles(files) {
    const problems = [];
    const added = [];
    for (const file of files) {
      const problem = fileProblem(file);
      if (problem) {
        problems.push(problem);
      } else if (chosen.some((other) => sameFile(other, file))) {
        problems.push(`${file.name} is already attached.`);
      } else if (chosen.length >= limits.max_attachments) {
        problems.push(
          `${file.name} was not added: you can attach at most ${limits.max_attachments} files.`,
        );
      } else {
        chosen.push(file);
        added.push(file.name);
      }
    }
    rejectedNames = new Set();
    renderFiles();
    if (problems.length) {
      showFieldError("files", problems);
    } else {
      clearFieldError("files");
    }
    if (added.length) {
      filesLive.textContent = `Attached: ${added.join(", ")}.`;
    }
  }

  function renderFiles() {
    fileList.replaceChildren(
      ...chosen.map((file, index) =>
        el(
          "li",
          { class: rejectedNames.has(file.name) ? "file-item file-item-rejected" : "file-item" },
          el("span", { class: "file-name", title: file.name }, file.name),
          el("span", { class: "file-size" }, formatBytes(file.size)),
          el(
            "button",
            {
              type: "button",
              class: "link-button",
              "aria-label": `Remove ${file.name}`,
              onclick: () => removeFile(index),
            },
            "Remove",
          ),
        ),
      ),
    );
  }

  function removeFile(index) {
    const [removed] = chosen.splice(index, 1);
    rejectedNames.delete(removed.name);
    renderFiles();
    clearFieldError("files");
    filesLive.textContent = `Removed ${removed.name}.`;
    const buttons = fileList.querySelectorAll("button");
    (buttons[Math.min(index, buttons.length - 1)] || fileInput).focus();
  }

  fileInput.addEventListener("change", () => {
    addFiles(Array.from(fileInput.files));
    fileInput.value = ""; // so choosing the same file again fires `change` again
  });

  const carriesFiles = (event) =>
    Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types).includes("Files");
  let dragDepth = 0;

  dropzone.addEventListener("dragenter", (event) => {
    if (carriesFiles(event)) {
      event.preventDefault();
      dragDepth += 1;
      dropzone.classList.add("dropzone-active");
    }
  });
  dropzone.addEventListener("dragover", (event) => {
    if (carriesFiles(event)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    }
  });
  dropzone.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) {
      dropzone.classList.remove("dropzone-active");
    }
  });
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dragDepth = 0;
    dropzone.classList.remove("dropzone-active");
    if (!fileInput.disabled) {
      addFiles(Array.from(event.dataTransfer.files));
    }
  });
  // A file dropped next to the zone would make the browser open it and lose the form.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (carriesFiles(event) && !dropzone.contains(event.target)) {
        event.preventDefault();
      }
    });
  }

  // ---- upload progress ------------------------------------------------------------------

  function startProgress() {
    lastAnnouncedStep = -1;
    progressBox.hidden = false;
    progressLive.textContent = "";
    setProgress(0);
  }

  function setProgress(fraction, label) {
    const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    progressBar.value = percent;
    progressPercent.textContent = `${percent}%`;
    progressLabel.textContent = label || (percent >= 100 ? "Upload complete" : "Uploading");
    // Announce in quarters, not on every event.
    const step = Math.floor(percent / 25);
    if (step > lastAnnouncedStep) {
      lastAnnouncedStep = step;
      progressLive.textContent = `Upload ${percent}% complete.`;
    }
  }

  // ---- sending --------------------------------------------------------------------------

  function setSending(value) {
    sending = value;
    submitButton.setAttribute("aria-disabled", String(value));
    submitButton.textContent = value ? "Sending…" : "Send message";
    form.setAttribute("aria-busy", String(value));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (sending) {
      return;
    }
    clearErrors();
    const firstInvalid = validateAll();
    if (firstInvalid) {
      const count = form.querySelectorAll('[aria-invalid="true"]').length;
      showFormError(
        count === 1
          ? "One field needs your attention: see the message next to it."
          : `${count} fields need your attention: see the messages next to them.`,
      );
      firstInvalid.focus();
      return;
    }
    send();
  });

  function send() {
    const data = new FormData();
    for (const name of TEXT_FIELDS) {
      data.append(name, input(name).value);
    }
    const tags = parseTags(input("tags").value);
    if (tags.length) {
      data.append("tags", tags.join(","));
    }
    for (const file of chosen) {
      data.append("files", file, file.name);
    }

    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/contact");
    xhr.setRequestHeader("Accept", "application/json");
    // Upload listeners must exist before send(), or the browser reports no upload progress.
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) {
        setProgress(event.loaded / event.total);
      }
    });
    xhr.upload.addEventListener("load", () => setProgress(1, "Upload complete, saving"));
    xhr.addEventListener("load", () => finish(xhr));
    xhr.addEventListener("error", () => failed({ status: 0, code: "network_error" }));

    pollGeneration += 1; // stop following the previous submission's attachments
    success.hidden = true;
    setSending(true);
    startProgress();
    xhr.send(data);
  }

  function finish(xhr) {
    setSending(false);
    if (xhr.status === 201) {
      try {
        succeeded(JSON.parse(xhr.responseText));
        return;
      } catch {
        // fall through: a 201 without a readable body is still reported, not hidden
      }
    }
    failed(apiError(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")));
  }

  function succeeded(contact) {
    setProgress(1, "Sent");
    clearErrors();
    form.reset();
    chosen = [];
    rejectedNames = new Set();
    touched.clear();
    renderFiles();
    updateCounter();

    byId("success-id").textContent = contact.id;
    const attachments = Array.isArray(contact.attachments) ? contact.attachments : [];
    successFiles.replaceChildren(
      ...attachments.map((attachment) =>
        el(
          "li",
          { "data-document-id": attachment.id },
          el("span", { class: "file-name" }, attachment.filename),
          el("span", { class: "file-size" }, formatBytes(attachment.size_bytes)),
          statusBadge(attachment.processing_status),
        ),
      ),
    );
    byId("success-attachments").hidden = attachments.length === 0;
    success.hidden = false;
    success.focus();
    followProcessing(attachments);
  }

  /** Updates each attachment's status badge until processing has finished (or a while). */
  function followProcessing(attachments) {
    const generation = pollGeneration;
    const waiting = new Set(
      attachments.filter((a) => !FINAL_STATUSES.has(a.processing_status)).map((a) => a.id),
    );
    let attempts = 0;
    const tick = async () => {
      attempts += 1;
      for (const id of [...waiting]) {
        try {
          const response = await fetch(`/api/documents/${encodeURIComponent(id)}`, {
            headers: { Accept: "application/json" },
          });
          if (generation !== pollGeneration) {
            return;
          }
          if (response.ok) {
            const documentInfo = await response.json();
            showStatus(id, documentInfo);
            if (FINAL_STATUSES.has(documentInfo.processing_status)) {
              waiting.delete(id);
            }
          }
        } catch {
          // Unreachable for a moment: try again on the next tick.
        }
      }
      if (waiting.size && attempts < POLL_ATTEMPTS && generation === pollGeneration) {
        window.setTimeout(tick, POLL_INTERVAL_MS);
      }
    };
    if (waiting.size) {
      window.setTimeout(tick, POLL_INTERVAL_MS);
    }
  }

  function showStatus(id, documentInfo) {
    const item = Array.from(successFiles.children).find((li) => li.dataset.documentId === id);
    if (!item) {
      return;
    }
    const status = documentInfo.processing_status;
    if (item.querySelector(".badge").dataset.status === status) {
      return;
    }
    item.querySelector(".badge").replaceWith(statusBadge(status));
    if (status === "failed" && documentInfo.processing_error) {
      item.append(el("span", { class: "processing-error" }, documentInfo.processing_error));
    }
  }

  function fieldOf(apiField) {
    const head = String(apiField || "").split(".")[0];
    return FORM_ORDER.includes(head) ? head : null;
  }

  function detailMessage(detail) {
    const parts = String(detail.field || "").split(".");
    const message = String(detail.message || "is not valid");
    if (parts[0] === "tags" && /^\d+$/.test(parts[1] || "")) {
      return `Tag ${Number(parts[1]) + 1}: ${message}`;
    }
    return message;
  }

  function rejectedFilenames(details) {
    const list = Array.isArray(details) ? details : [details];
    return list.filter((d) => d && typeof d.filename === "string").map((d) => d.filename);
  }

  function focusFirstInvalid(fallback) {
    const first = FORM_ORDER.map(input).find((field) => field.getAttribute("aria-invalid"));
    (first || fallback).focus();
  }

  function failed(error) {
    progressBox.hidden = true;
    const { status, code, message, details } = error;

    if (status === 422 && code === "validation_error" && Array.isArray(details)) {
      const perField = new Map();
      const general = [];
      for (const detail of details) {
        const field = fieldOf(detail.field);
        if (field) {
          perField.set(field, [...(perField.get(field) || []), detailMessage(detail)]);
        } else {
          general.push(`${detail.field}: ${detail.message}`);
        }
      }
      for (const [field, messages] of perField) {
        showFieldError(field, messages);
        if (field !== "files") {
          touched.add(field);
        }
      }
      showFormError(
        perField.size
          ? "Some details were not accepted: see the messages next to the fields."
          : message || "Some details were not accepted.",
        general,
      );
      focusFirstInvalid(formError);
      return;
    }

    if (ATTACHMENT_CODES.has(code)) {
      rejectedNames = new Set(rejectedFilenames(details));
      renderFiles();
      showFieldError("files", message || "One of the files was not accepted.");
      showFormError("An attachment was not accepted: remove or replace it, then send again.");
      fileInput.focus();
      return;
    }

    if (status === 413) {
      const limit = formatBytes(limits.max_upload_bytes);
      showFieldError(
        "files",
        `Too large: each file may be at most ${limit}.${message ? ` The server said: ${message}.` : ""}`,
      );
      showFormError(`The upload is too large. Each file may be at most ${limit}.`);
      fileInput.focus();
      return;
    }

    if (status === 0) {
      showFormError(
        "The server could not be reached. Check your connection and try again; everything you entered is still here.",
      );
    } else if (status === 502 || status === 503 || status === 504) {
      showFormError(
        `The service is temporarily unavailable. ${tryAgainText(error.retryAfter)} Everything you entered is still here.`,
      );
    } else {
      showFormError(
        message
          ? `${message.charAt(0).toUpperCase()}${message.slice(1)}.`
          : `Something went wrong (error ${status}). Please try again.`,
      );
    }
    formError.focus();
  }

  loadLimits();
})();
