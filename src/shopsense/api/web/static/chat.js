// The storefront chat widget: talks to POST /v1/chat/stream (server-sent events), shows the catalog items
// a reply names as links, and sends thumbs up/down to POST /v1/chat/feedback. All text is inserted with
// textContent, never as HTML: replies quote shoppers and catalog data.
(function () {
  "use strict";
  const root = document.getElementById("shopsense-chat");
  if (!root) return;
  // The server issues session ids and binds each to this browser's shopper (or anonymous visitor) through
  // its own HttpOnly cookies; one session per shopper per browser: switching shopper starts a new one.
  const key = "shopsense-chat-session:" + (root.dataset.shopper || "visitor");
  const log = root.querySelector(".chat-log");
  const form = root.querySelector(".chat-form");
  const input = form.querySelector("input");
  let session = localStorage.getItem(key);

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function bubble(role, text) {
    const node = el("div", "msg " + role, text);
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  function details(node, meta) {
    if (meta.escalated) node.classList.add("escalated");
    if (meta.items && meta.items.length) {
      const list = el("div", "chat-items");
      for (const item of meta.items) {
        const link = el("a", "", item.title + (item.price != null ? " — £" + Number(item.price).toFixed(2) : ""));
        link.href = "/product/" + encodeURIComponent(item.item_id);
        list.appendChild(link);
      }
      node.appendChild(list);
    }
    const cited = (meta.sources || []).filter((s) => s.type === "faq" || s.type === "order" || s.type === "ticket");
    if (cited.length) {
      node.appendChild(el("div", "chat-sources", "Sources: " + cited.map((s) => s.title || s.id).join(", ")));
    }
    const vote = el("div", "chat-vote");
    // Words, not emoji: a shopper's machine may have no emoji font, and a vote button must never be a box.
    for (const [label, helpful] of [["Helpful", true], ["Not helpful", false]]) {
      const button = el("button", "", label);
      button.type = "button";
      button.addEventListener("click", () => {
        vote.querySelectorAll("button").forEach((b) => (b.disabled = true));
        fetch("/v1/chat/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ session_id: meta.session_id, turn: meta.turn, helpful: helpful }),
        }).catch(() => {});
      });
      vote.appendChild(button);
    }
    node.appendChild(vote);
  }

  function ask(message) {
    const body = { message: message };
    if (session) body.session_id = session;
    return fetch("/v1/chat/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
  }

  async function send(message) {
    bubble("user", message);
    const node = bubble("bot", "…");
    let text = "";
    let meta = null;
    try {
      let response = await ask(message);
      if (response.status === 404 && session) {  // a session of another sign-in, or erased: start afresh
        session = null;
        localStorage.removeItem(key);
        response = await ask(message);
      }
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        node.textContent = "Sorry, that did not work: " + (body.detail || response.statusText);
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const kind = (block.match(/^event: (.*)$/m) || [])[1];
          const data = JSON.parse((block.match(/^data: (.*)$/m) || [, "{}"])[1]);
          if (kind === "meta") {
            meta = data;
            if (data.session_id && data.session_id !== session) {
              session = data.session_id;
              localStorage.setItem(key, session);
            }
          }
          else if (kind === "delta") { text += data.text; node.textContent = text; }
          else if (kind === "done") { node.textContent = data.reply; }
          log.scrollTop = log.scrollHeight;
        }
      }
      if (meta) details(node, meta);
    } catch (err) {
      node.textContent = "Sorry, the assistant is not reachable right now.";
    }
  }

  root.querySelector(".chat-open").addEventListener("click", () => {
    root.classList.add("open");
    if (!log.childElementCount) {
      bubble("bot", "Hi! Ask me for gift ideas, about a product, your order, delivery or returns.");
    }
    input.focus();
  });
  root.querySelector(".chat-close").addEventListener("click", () => root.classList.remove("open"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) return;
    input.value = "";
    send(message);
  });
})();
