// smdpp operator console: the only script. Pages work without it; it adds
//  - live refresh of an element with data-refresh-url while its data-live is "true" (the order
//    page during a download): it polls the URL for a fresh copy of the element and swaps it in
//    when its data-version changed, but not while the user is working inside it;
//  - copy buttons (data-copy names the id of the element whose text to copy).
(function () {
  "use strict";

  function poll(el) {
    var ms = parseInt(el.getAttribute("data-refresh-ms"), 10) || 2000;
    var url = el.getAttribute("data-refresh-url");
    function tick() {
      if (document.hidden) {
        setTimeout(tick, ms);
        return;
      }
      fetch(url, { credentials: "same-origin", headers: { "X-Console-Fragment": "1" } })
        .then(function (r) {
          if (r.status === 401) { window.location.reload(); } // the session ended: sign in again
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.text();
        })
        .then(function (html) {
          var t = document.createElement("template");
          t.innerHTML = html.trim();
          var fresh = t.content.firstElementChild;
          if (!fresh) { return; }
          var busy = el.contains(document.activeElement) && document.activeElement !== document.body;
          if (fresh.getAttribute("data-version") !== el.getAttribute("data-version")) {
            if (busy) { setTimeout(tick, ms); return; } // try again once the user has left it
            el.innerHTML = fresh.innerHTML;
            el.setAttribute("data-version", fresh.getAttribute("data-version"));
            el.setAttribute("data-live", fresh.getAttribute("data-live"));
            copyButtons(el);
          }
          if (el.getAttribute("data-live") === "true") { setTimeout(tick, ms); }
        })
        .catch(function () { setTimeout(tick, ms * 3); });
    }
    setTimeout(tick, ms);
  }

  function copyButtons(root) {
    var buttons = root.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (b) {
      var src = document.getElementById(b.getAttribute("data-copy"));
      if (!src || !navigator.clipboard) { return; }
      b.hidden = false;
      b.addEventListener("click", function () {
        navigator.clipboard.writeText(src.textContent.trim()).then(function () {
          var label = b.textContent;
          b.textContent = "Copied";
          setTimeout(function () { b.textContent = label; }, 1500);
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.querySelectorAll("[data-refresh-url][data-live='true']");
    Array.prototype.forEach.call(live, poll);
    copyButtons(document);
  });
})();
