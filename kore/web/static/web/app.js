/* Kore web app: small progressive enhancements. No inline handlers (the CSP forbids them). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // On a phone the filters beyond search fold away unless some are in use: the rows come first.
  var more = document.getElementById("more-filters");
  if (more && !more.dataset.filtered && window.matchMedia("(max-width: 640px)").matches) { more.open = false; }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#tx-body tr.tx-row")); }

  // Keyboard: j/k or arrows move between rows, Enter edits, x ticks, a accepts the first suggested
  // category, Escape cancels an edit.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "Escape") {
      var cancel = t.closest && t.closest("tr.editing") && t.closest("tr.editing").querySelector("button.cancel");
      if (cancel) { cancel.click(); }
      return;
    }
    if (!t.matches || !t.matches("tr.tx-row, body")) { return; }
    var list = rows();
    if (!list.length) { return; }
    var i = list.indexOf(t);
    if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); (list[i + 1] || list[i] || list[0]).focus(); }
    else if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); (list[i - 1] || list[0]).focus(); }
    else if (e.key === "Enter" && i >= 0) { var edit = t.querySelector("button.edit"); if (edit) { e.preventDefault(); edit.click(); } }
    else if (e.key === "x" && i >= 0) { var box = t.querySelector("input.pick"); if (box) { box.checked = !box.checked; countPicked(); } }
    else if (e.key === "a" && i >= 0) { var pick = t.querySelector("button.suggest-pick"); if (pick) { e.preventDefault(); pick.click(); } }
  });

  // After an inline edit swaps in, focus its first field; after saving, focus the row again.
  document.addEventListener("htmx:afterSwap", function (e) {
    var row = e.detail.target;
    if (row && row.id && row.id.indexOf("tx-") === 0) {
      var fresh = document.getElementById(row.id);
      if (!fresh) { return; }
      var field = fresh.querySelector("select, input");
      if (fresh.classList.contains("editing") && field) { field.focus(); } else { fresh.focus(); }
    }
  });

  // Bulk selection count and "select all".
  function countPicked() {
    var n = document.querySelectorAll("input.pick:checked").length;
    var out = document.getElementById("bulk-count");
    if (out) { out.textContent = n + " selected"; }
  }
  document.addEventListener("change", function (e) {
    if (e.target.id === "select-all") {
      document.querySelectorAll("input.pick").forEach(function (b) { b.checked = e.target.checked; });
    }
    if (e.target.matches("input.pick, #select-all")) { countPicked(); }
    if (e.target.matches("select.autosubmit")) { e.target.form.submit(); }
  });
  document.addEventListener("submit", function (e) {
    if (e.target.id === "bulk") {
      var action = e.target.querySelector("[name=action]").value;
      if (!document.querySelectorAll("input.pick:checked").length) { e.preventDefault(); alert("Tick some transactions first."); }
      else if (action === "delete" && !confirm("Delete the selected transactions? You can undo.")) { e.preventDefault(); }
    }
  });

  // Split editor: lines must add up to the amount; the remainder is shown as you type.
  function splitCheck() {
    var box = document.getElementById("splits");
    if (!box) { return; }
    var amountField = document.getElementById("id_amount");
    var total = parseFloat(amountField ? amountField.value : box.dataset.amount) || 0;
    var sum = 0, used = false;
    box.querySelectorAll("tr.split-line:not(.template) input.split-amount").forEach(function (i) {
      if (i.value.trim() !== "") { used = true; sum += parseFloat(i.value) || 0; }
    });
    document.getElementById("splits-used").value = used ? "1" : "";
    var left = Math.round((total - sum) * 10000) / 10000;
    var out = document.getElementById("split-remaining");
    out.textContent = used ? (left === 0 ? "Balanced" : "Left to assign: " + left.toFixed(2)) : "";
    out.className = "remaining " + (used ? (left === 0 ? "ok" : "off") : "");
    var save = document.getElementById("tx-save");
    if (save) { save.disabled = used && left !== 0; }
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches(".split-amount, #id_amount")) { splitCheck(); }
  });
  document.addEventListener("click", function (e) {
    if (e.target.id === "split-add") {
      var tpl = document.querySelector("#split-lines tr.template");
      var line = tpl.cloneNode(true);
      line.classList.remove("template");
      tpl.parentNode.insertBefore(line, tpl);
      line.querySelector("select").focus();
    }
  });

  // Attachments: drag and drop with a progress bar; the answer is a list item to add.
  function upload(form, file) {
    var data = new FormData(form);
    data.set("file", file);
    var bar = document.getElementById("upload-progress");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("HX-Request", "true");
    bar.hidden = false; bar.value = 0;
    xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) { bar.value = Math.round(ev.loaded * 100 / ev.total); } };
    xhr.onload = function () {
      bar.hidden = true;
      var list = document.getElementById("attachments");
      var none = list.querySelector(".none"); if (none) { none.remove(); }
      list.insertAdjacentHTML("beforeend", xhr.responseText);
    };
    xhr.send(data);
  }
  document.addEventListener("DOMContentLoaded", function () {
    splitCheck();
    var zone = document.getElementById("dropzone");
    if (zone) {
      zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
      zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
      zone.addEventListener("drop", function (e) {
        e.preventDefault(); zone.classList.remove("over");
        if (e.dataTransfer.files.length) { upload(zone, e.dataTransfer.files[0]); }
      });
      zone.addEventListener("submit", function (e) {
        var input = zone.querySelector("input[type=file]");
        if (input.files.length) { e.preventDefault(); upload(zone, input.files[0]); }
      });
    }
    // Import: read the first lines of a CSV here to offer its columns for mapping.
    var file = document.querySelector("#import-form input[type=file]");
    if (file) {
      file.addEventListener("change", function () {
        var f = file.files[0];
        var box = document.getElementById("mapping");
        if (!f || !/\.csv$/i.test(f.name)) { box.hidden = true; return; }
        f.slice(0, 65536).text().then(function (text) { preview(text, box); });
      });
    }
  });

  function splitLine(line, sep) {
    var out = [], cur = "", q = false;
    for (var i = 0; i < line.length; i++) {
      var c = line[i];
      if (c === '"') { if (q && line[i + 1] === '"') { cur += c; i++; } else { q = !q; } }
      else if (c === sep && !q) { out.push(cur); cur = ""; }
      else { cur += c; }
    }
    out.push(cur);
    return out;
  }
  function preview(text, box) {
    var lines = text.split(/\r?\n/).filter(function (l) { return l.trim() !== ""; }).slice(0, 6);
    if (!lines.length) { return; }
    var sep = [",", ";", "\t", "|"].reduce(function (best, s) { return lines[0].split(s).length > lines[0].split(best).length ? s : best; }, ",");
    var head = splitLine(lines[0], sep);
    var table = document.getElementById("preview");
    var thead = table.querySelector("thead"), tbody = table.querySelector("tbody");
    thead.textContent = ""; tbody.textContent = "";
    var tr = document.createElement("tr");
    head.forEach(function (h) { var th = document.createElement("th"); th.scope = "col"; th.textContent = h; tr.appendChild(th); });
    thead.appendChild(tr);
    lines.slice(1).forEach(function (l) {
      var r = document.createElement("tr");
      splitLine(l, sep).forEach(function (v) { var td = document.createElement("td"); td.textContent = v; r.appendChild(td); });
      tbody.appendChild(r);
    });
    box.querySelectorAll("select.mapsel").forEach(function (sel) {
      var role = sel.dataset.role;
      sel.length = 1;
      head.forEach(function (h) {
        var o = document.createElement("option"); o.value = h; o.textContent = h;
        if (h.trim().toLowerCase() === role || (role === "description" && /memo|details|narrative/i.test(h)) || (role === "counterparty" && /payee|name/i.test(h))) { o.selected = true; }
        sel.appendChild(o);
      });
    });
    box.hidden = false;
  }

  // Rule editor: "Add a condition" / "Add a split line" copy the row set's empty row (Django's
  // formset prefix numbered) and count it; a condition row shows the inputs its field takes,
  // and picks the match that field allows (between for amounts and dates, is for ids).
  var TEXT_FIELDS = ["description", "counterparty", "payee"];
  document.addEventListener("click", function (e) {
    var add = e.target.closest && e.target.closest("button[data-add-row]");
    if (!add) { return; }
    var prefix = add.dataset.addRow;
    var total = add.form.querySelector("[name='" + prefix + "-TOTAL_FORMS']");
    var empty = document.getElementById(prefix + "-empty");
    var n = parseInt(total.value, 10);
    document.getElementById(prefix + "-rows").insertAdjacentHTML("beforeend", empty.innerHTML.replace(/__prefix__/g, String(n)));
    total.value = String(n + 1);
  });
  // Capture phase: the op is set before htmx reads the form for the live count.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t.matches || !t.matches(".cond select[name$='-field']")) { return; }
    var row = t.closest(".cond"), op = row.querySelector("select[name$='-op']");
    row.dataset.field = t.value;
    if (t.value === "amount" || t.value === "date") { op.value = "between"; }
    else if (TEXT_FIELDS.indexOf(t.value) < 0) { op.value = "equals"; }
    else if (op.value === "between") { op.value = "contains"; }
  }, true);

  // Rules: drag a rule to a new place. The list follows the pointer; on release the whole
  // order goes to the form named by the list's data-reorder (with the order's ETag as the page
  // read it) and the page reloads with the order saved, or with why it was not.
  var dragged = null, before = "";
  function ruleOrder(list) {
    return Array.prototype.map.call(list.querySelectorAll("li[data-rule-id]"), function (li) { return li.dataset.ruleId; }).join(",");
  }
  document.addEventListener("dragstart", function (e) {
    var li = e.target.closest && e.target.closest("ol[data-reorder] > li[data-rule-id]");
    if (!li) { return; }
    dragged = li; before = ruleOrder(li.parentNode);
    li.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", li.dataset.ruleId);
  });
  document.addEventListener("dragover", function (e) {
    var over = dragged && e.target.closest && e.target.closest("ol[data-reorder] > li[data-rule-id]");
    if (!over || over.parentNode !== dragged.parentNode) { return; }
    e.preventDefault();
    if (over === dragged) { return; }
    var box = over.getBoundingClientRect();
    over.parentNode.insertBefore(dragged, e.clientY > box.top + box.height / 2 ? over.nextSibling : over);
  });
  document.addEventListener("drop", function (e) {
    if (dragged) { e.preventDefault(); }
  });
  document.addEventListener("dragend", function () {
    if (!dragged) { return; }
    var list = dragged.parentNode, after = ruleOrder(list);
    dragged.classList.remove("dragging"); dragged = null;
    if (after === before) { return; }
    var form = document.getElementById(list.dataset.reorder);
    form.querySelector("[name=order]").value = after;
    form.submit();
  });
})();
