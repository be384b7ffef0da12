// accessgov console behaviour. Everything works without this file; it only adds comfort.
(function () {
  "use strict";

  // A one-time secret must not survive in the back/forward cache (attack catalogue case 45):
  // wipe it when the page is hidden, and reload a page restored from that cache.
  window.addEventListener("pagehide", function () {
    document.querySelectorAll("[data-secret]").forEach(function (node) { node.remove(); });
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
    });
  });

  // A double click on a submit button sends the form once.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once")) { return; }
    if (form.dataset.submitting === "yes") { event.preventDefault(); return; }
    form.dataset.submitting = "yes";
    setTimeout(function () { form.dataset.submitting = ""; }, 3000);
  }, true);

  document.addEventListener("change", function (event) {
    // "Select all" per permission group (Third-Party Tokens) and similar groups.
    var toggle = event.target.closest("[data-select-all]");
    if (!toggle) { return; }
    var group = document.getElementById(toggle.getAttribute("data-select-all"));
    if (!group) { return; }
    group.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = toggle.checked; });
  });
})();
