// Progressive enhancement only: every form works without this file.
// 1. A production-review checklist enables its submit button once every required field is filled.
// 2. Forms marked "confirm" ask before revoking or scrubbing.
// 3. A link to a schema (#schema-Name) opens its folded section.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form.checklist").forEach(function (form) {
    var button = form.querySelector("[data-checklist]");
    var required = form.querySelectorAll("[data-required]");
    function update() {
      var filled = Array.prototype.every.call(required, function (el) { return el.value.trim() !== ""; });
      button.disabled = !filled;
    }
    required.forEach(function (el) { el.addEventListener("input", update); });
    update();
  });
  document.querySelectorAll("form.confirm").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm("This cannot be undone. Continue?")) { event.preventDefault(); }
    });
  });
  function openTarget() {
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
});
