// contactmerge console: keyboard shortcuts and the overview's live update.
// a approve, r reject, j/k next/previous (group page) or move the selection
// (queue), Enter or o open the selected group, / focus the filters.
(function () {
  "use strict";
  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }
  function submit(form) {
    if (!form || form.dataset.sent) return;
    form.dataset.sent = "1"; // one submission per page: no double decisions
    form.submit();
  }
  var page = document.body.dataset.page;

  // Queue: a movable selection.
  var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr[data-group]"));
  var sel = rows.length ? 0 : -1;
  function mark() {
    rows.forEach(function (r, i) { r.classList.toggle("selected", i === sel); });
    if (sel >= 0) rows[sel].scrollIntoView({ block: "nearest" });
  }
  if (page === "queue") mark();

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var g = document.getElementById("group");
    var k = e.key;
    if (k === "/") {
      var f = document.querySelector("#filters input, #ledger-q");
      if (f) { e.preventDefault(); f.focus(); }
      return;
    }
    if (page === "group" && g) {
      if (k === "a") { e.preventDefault(); submit(document.getElementById("approve-form")); }
      else if (k === "r") { e.preventDefault(); submit(document.getElementById("reject-form")); }
      else if (k === "j" && g.dataset.next) { e.preventDefault(); location.href = g.dataset.next; }
      else if (k === "k" && g.dataset.prev) { e.preventDefault(); location.href = g.dataset.prev; }
      return;
    }
    if (page === "queue" && sel >= 0) {
      if (k === "j") { e.preventDefault(); sel = Math.min(sel + 1, rows.length - 1); mark(); }
      else if (k === "k") { e.preventDefault(); sel = Math.max(sel - 1, 0); mark(); }
      else if (k === "Enter" || k === "o") { e.preventDefault(); location.href = rows[sel].dataset.href; }
      else if (k === "a") { e.preventDefault(); submit(rows[sel].querySelector("form.row-approve")); }
      else if (k === "r") { e.preventDefault(); submit(rows[sel].querySelector("form.row-reject")); }
    }
  });

  rows.forEach(function (r, i) {
    r.addEventListener("click", function (e) {
      if (e.target.closest("a, button, input, form")) return;
      sel = i; mark();
    });
  });

  // Overview: replace the live block every 5 seconds.
  var live = document.getElementById("live");
  if (live && live.dataset.refresh) {
    setInterval(function () {
      if (document.hidden) return;
      fetch(live.dataset.refresh, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { live.innerHTML = html; })
        .catch(function () {});
    }, 5000);
  }
})();
