/* Huikuan keyboard shortcuts. Rows marked data-row are the list the keys move through:
 *   j / k   next / previous row (j on the last row shows more, if there is more)
 *   x       select the row's checkbox
 *   a / s   approve / skip (the selected messages, else the row's message or task)
 *   d       mark the row's task done     c       log a call (the row's link)
 *   Enter   open the row's customer      /       focus the search box
 *   g w     go to the worklist           ?       show or hide the help
 * Keys typed into a field are left alone. After htmx replaces a list, the same row keeps focus.
 * A box marked data-select-all (hidden until this script runs) ticks every row's checkbox.
 */
(function () {
  "use strict";

  var pendingG = false;
  var lastIndex = 0;
  var advance = false; // move to the next row once "Show more" has brought it

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  }

  function currentRow() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("[data-row]") : null;
  }

  function focusRow(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, index));
    lastIndex = index;
    all[index].focus();
    all[index].scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    var row = currentRow();
    var more = document.querySelector("[data-shortcut-more]");
    if (row && step > 0 && all.indexOf(row) === all.length - 1 && more) {
      advance = true;
      more.click();
      return;
    }
    focusRow(row ? all.indexOf(row) + step : step > 0 ? 0 : all.length - 1);
  }

  function selectAllShow() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-select-all]"), function (box) {
      box.hidden = !document.querySelector("[data-shortcut-select]");
      box.checked = false;
    });
  }

  function clickIn(scope, selector) {
    var target = scope && scope.querySelector(selector);
    if (target) {
      target.click();
      return true;
    }
    return false;
  }

  function selectedCount() {
    return document.querySelectorAll("[data-shortcut-select]:checked").length;
  }

  function act(key) {
    // With messages selected, a and s act on all of them; otherwise on the focused row.
    if ((key === "a" || key === "s") && selectedCount()) {
      return clickIn(document, '[data-shortcut-bulk="' + key + '"]');
    }
    return clickIn(currentRow(), '[data-shortcut="' + key + '"]');
  }

  function toggleHelp() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog || typeof dialog.showModal !== "function") return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) return true;
    return tag === "INPUT" && ["checkbox", "radio", "button", "submit"].indexOf(target.type) < 0;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var key = event.key;
    var handled = true;
    if (pendingG) {
      pendingG = false;
      if (key === "w") {
        var home = document.querySelector(".brand");
        if (home) window.location.href = home.getAttribute("href");
        event.preventDefault();
        return;
      }
    }
    switch (key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "x": {
        var box = currentRow() && currentRow().querySelector("[data-shortcut-select]");
        if (box) box.click();
        else handled = false;
        break;
      }
      case "a":
      case "s":
      case "d":
      case "c":
        handled = act(key);
        break;
      case "Enter":
        handled = currentRow() === document.activeElement && clickIn(currentRow(), "[data-shortcut-open]");
        break;
      case "/": {
        var search = document.querySelector("[data-shortcut-search]") || document.querySelector('input[type="search"]');
        if (search) search.focus();
        else handled = false;
        break;
      }
      case "?":
        toggleHelp();
        break;
      case "g":
        pendingG = true;
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcuts-help]")) toggleHelp();
  });

  document.addEventListener("change", function (event) {
    if (!event.target.hasAttribute || !event.target.hasAttribute("data-select-all")) return;
    Array.prototype.forEach.call(document.querySelectorAll("[data-shortcut-select]"), function (box) {
      box.checked = event.target.checked;
    });
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", selectAllShow);
  else selectAllShow();

  // Keep the place in the list when htmx swaps it after an action.
  document.addEventListener("htmx:beforeSwap", function () {
    var row = currentRow();
    if (row) lastIndex = rows().indexOf(row);
    else lastIndex = -1;
  });
  document.addEventListener("htmx:afterSettle", function () {
    selectAllShow();
    if (lastIndex >= 0 && rows().length) focusRow(advance ? lastIndex + 1 : lastIndex);
    advance = false;
  });
})();
