// The sandbox console: live journal and linkages (server-sent events), countdowns, copy.
"use strict";

function text(value) {
  return value === null || value === undefined ? "" : String(value);
}

function cell(row, value) {
  const td = document.createElement("td");
  td.textContent = text(value);
  row.appendChild(td);
  return td;
}

function journalRow(entry) {
  const row = document.createElement("tr");
  cell(row, entry.seq);
  cell(row, text(entry.at).slice(11, 19));
  const request = document.createElement("td");
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  const code = document.createElement("code");
  code.textContent = entry.method + " " + entry.path;
  summary.appendChild(code);
  const pre = document.createElement("pre");
  pre.textContent = JSON.stringify(entry, null, 1);
  details.appendChild(summary);
  details.appendChild(pre);
  request.appendChild(details);
  row.appendChild(request);
  cell(row, entry.status);
  cell(row, entry.client_id);
  cell(row, entry.step);
  cell(row, entry.error_code);
  return row;
}

function linkageRows(body, linkages) {
  const csrf = body.dataset.csrf;
  const bank = body.dataset.bank;
  body.replaceChildren();
  if (!linkages.length) {
    const row = document.createElement("tr");
    row.className = "empty";
    const td = cell(row, "None right now.");
    td.colSpan = 6;
    body.appendChild(row);
    return;
  }
  for (const l of linkages) {
    const row = document.createElement("tr");
    row.dataset.linkage = l.linkage_id;
    const id = document.createElement("td");
    const code = document.createElement("code");
    code.textContent = l.linkage_id.slice(0, 12) + "…";
    id.appendChild(code);
    row.appendChild(id);
    cell(row, l.step).className = "step";
    cell(row, l.client_id);
    cell(row, l.account);
    const left = document.createElement("td");
    if (l.window_left !== null) {
      const span = document.createElement("span");
      span.dataset.left = l.window_left;
      span.textContent = l.window_left + " s";
      left.appendChild(span);
    }
    row.appendChild(left);
    const action = document.createElement("td");
    if (l.callable) {
      const form = document.createElement("form");
      form.method = "post";
      form.action = "/_sandbox/console/call?bank=" + encodeURIComponent(bank);
      for (const [name, value] of [["csrf_token", csrf], ["linkage", l.linkage_id]]) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        form.appendChild(input);
      }
      const button = document.createElement("button");
      button.textContent = "Simulate the call";
      form.appendChild(button);
      action.appendChild(form);
    }
    row.appendChild(action);
    body.appendChild(row);
  }
}

function follow() {
  const journal = document.querySelector("[data-journal]");
  const linkages = document.querySelector("[data-linkages]");
  const live = document.querySelector("[data-live]");
  const clock = document.querySelector("[data-clock]");
  if (!journal || !window.EventSource) return;
  const params = new URLSearchParams({ bank: journal.dataset.bank, since: journal.dataset.since });
  for (const name of ["client", "status", "code"]) {
    if (journal.dataset[name]) params.set(name, journal.dataset[name]);
  }
  const events = new EventSource("/_sandbox/console/events?" + params.toString());
  events.addEventListener("journal", (event) => {
    journal.insertBefore(journalRow(JSON.parse(event.data)), journal.firstChild);
    while (journal.rows.length > 200) journal.deleteRow(journal.rows.length - 1);
  });
  events.addEventListener("linkages", (event) => {
    const snapshot = JSON.parse(event.data);
    if (linkages) linkageRows(linkages, snapshot.linkages);
    if (clock) clock.textContent = snapshot.now;
  });
  events.addEventListener("open", () => live && live.classList.remove("off"));
  events.addEventListener("error", () => live && live.classList.add("off"));
}

function copyButtons() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.copy");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.dataset.copy).then(() => {
      button.textContent = "copied";
      setTimeout(() => (button.textContent = "copy"), 1200);
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  follow();
  copyButtons();
});
