// Posts what the shopper does to /v1/events (views, clicks, carts) with the model version that showed
// the item, so the A/B report can compare versions. Every event has an id: a retry is stored once. The
// server knows who is shopping from its own cookies (signed-in shopper or anonymous visitor): no user id
// is sent. Selects marked data-autosubmit (and the demo switcher) submit their form on change.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit], #demo-switcher select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  function eventId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function post(type, itemId, version) {
    var body = { event_id: eventId(), type: type, item_id: itemId };
    if (version) body.model_version = version;
    return fetch("/v1/events", {
      method: "POST", keepalive: true,
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).catch(function () { /* the shop keeps working when the event log is unreachable */ });
  }

  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a.item-link");
    if (!link) return;
    e.preventDefault();
    var href = link.getAttribute("href");
    post("click", link.dataset.item, link.dataset.version).then(function () { window.location = href; });
  });

  var product = document.getElementById("product");
  if (product) post("view", product.dataset.item, product.dataset.version);

  var cart = document.getElementById("add-to-cart");
  if (cart) cart.addEventListener("click", function () {
    post("cart", cart.dataset.item, product && product.dataset.version).then(function () {
      document.getElementById("cart-status").textContent = " Added to your cart.";
    });
  });
})();
