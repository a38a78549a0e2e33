// The run page's live view. The server renders the whole run from its event log; this script
// follows it: it connects with the last sequence number the page has, applies each event's
// display ops exactly once and in order (dropping duplicates, asking for a backfill on a gap),
// acknowledges what it applied (the server's flow control), shows the connection state and
// reconnects with backoff. Graph output is untrusted: it only ever goes in via textContent.
(function () {
  "use strict";
  const root = document.getElementById("run");
  if (!root) return;
  const runId = root.dataset.runId;
  let lastSeq = parseInt(root.dataset.lastSeq || "0", 10) || 0;
  const conn = document.getElementById("conn");
  const pending = new Map(); // seq -> frame, held while a gap is being backfilled
  let socket = null;
  let retry = 0;
  let ended = root.dataset.active === "false";
  let ackTimer = null;
  let backfillAsked = -1;

  function setState(state, text) {
    conn.dataset.state = state;
    conn.textContent = text;
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function entry(listId, seq, label, text) {
    const li = el("li");
    li.dataset.seq = String(seq);
    if (label) li.appendChild(el("strong", label));
    li.appendChild(el("pre", text));
    document.getElementById(listId).appendChild(li);
  }

  function message(op) {
    const box = document.getElementById("messages");
    let p = null;
    for (const child of box.children) {
      if (child.dataset.id === op.id) { p = child; break; }
    }
    if (!p) {
      p = el("p", undefined, "message");
      p.dataset.id = op.id;
      p.appendChild(el("span", op.role, "role"));
      p.appendChild(el("span", "", "text"));
      box.appendChild(p);
    }
    const text = p.querySelector(".text");
    text.textContent = op.mode === "append" ? text.textContent + op.text : op.text;
  }

  function apply(frame) {
    for (const op of frame.ops) {
      switch (op.op) {
        case "message": message(op); break;
        case "values": document.getElementById("values").textContent = op.text; break;
        case "custom": entry("custom", frame.seq, "", op.text); break;
        case "meta": document.getElementById("run-meta").textContent = op.text; break;
        case "error":
          document.getElementById("errors-panel").hidden = false;
          entry("errors", frame.seq, "", op.text);
          break;
        case "status": {
          const badge = document.getElementById("run-status");
          badge.textContent = op.label;
          badge.className = "badge " + op.status;
          if (op.text) {
            document.getElementById("errors-panel").hidden = false;
            document.getElementById("end-text").textContent = op.text;
          }
          const decide = document.getElementById("decide");
          if (decide) decide.hidden = op.status !== "interrupted";
          const cancel = document.getElementById("cancel-form");
          if (cancel) cancel.hidden = true;
          ended = true;
          break;
        }
        default: entry("steps", frame.seq, op.label, op.text);
      }
    }
    lastSeq = frame.seq;
    root.dataset.lastSeq = String(lastSeq);
    document.getElementById("event-count").textContent = String(lastSeq);
  }

  function ackSoon() {
    if (ackTimer) return;
    ackTimer = setTimeout(function () {
      ackTimer = null;
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "ack", seq: lastSeq }));
      }
    }, 50);
  }

  function onEvent(frame) {
    if (frame.seq <= lastSeq) return; // a duplicate
    if (frame.seq > lastSeq + 1) {
      pending.set(frame.seq, frame);
      if (backfillAsked !== lastSeq) {
        backfillAsked = lastSeq;
        socket.send(JSON.stringify({ type: "backfill", after: lastSeq }));
      }
      setState("catching-up", "catching up…");
      return;
    }
    apply(frame);
    while (pending.has(lastSeq + 1)) {
      const next = pending.get(lastSeq + 1);
      pending.delete(lastSeq + 1);
      apply(next);
    }
    for (const seq of pending.keys()) if (seq <= lastSeq) pending.delete(seq);
    if (!pending.size) setState("live", ended ? "complete" : "live");
    ackSoon();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    setState("connecting", retry ? "reconnecting…" : "connecting…");
    socket = new WebSocket(scheme + location.host + root.dataset.wsPath + "?after=" + lastSeq);
    socket.onopen = function () { retry = 0; setState("live", ended ? "complete" : "live"); };
    socket.onmessage = function (message) {
      let frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (frame.type === "event") onEvent(frame);
      else if (frame.type === "error") console.warn("run " + runId + ": " + frame.message);
    };
    socket.onclose = function (close) {
      socket = null;
      pending.clear();
      backfillAsked = -1;
      if (close.code === 4403) { setState("offline", "signed out or no access"); return; }
      if (ended) { setState("live", "complete"); return; }
      retry += 1;
      const delay = Math.min(10000, 500 * Math.pow(2, retry)) * (1 + Math.random() / 4);
      setState("offline", "offline, retrying…");
      setTimeout(connect, delay);
    };
  }

  if (ended) setState("live", "complete");
  else connect();
})();
