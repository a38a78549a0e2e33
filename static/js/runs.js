// The run page's live view. The server renders the whole run from its event log, and then each
// new event as htmx out-of-band partials that the ws extension swaps in (apps/runs/live.py).
// This script keeps only what htmx cannot: it lets a frame in only if it is the next event
// (dropping duplicates, asking for a backfill on a gap), acknowledges what was applied (the
// server's flow control), reconnects from the last event the page has, and shows the state.
(function () {
  "use strict";
  const root = document.getElementById("run");
  const socketElt = document.getElementById("run-live");
  if (!root || !socketElt || !window.htmx) return;
  const conn = document.getElementById("conn");
  const EVENT = /^<span id="event-count" hx-swap-oob="true" data-seq="(\d+)" data-event="([^"]*)"/;
  const CONTROL = /^<div id="run-socket" hx-swap-oob="true" hidden data-kind="(\w+)"/;
  let lastSeq = parseInt(root.dataset.lastSeq || "0", 10) || 0;
  let ended = root.dataset.active === "false";
  // False while the server has no channel layer (its hello or live frame says so): events then
  // come from the log it reads every tick, and the page's note (a server partial) says so.
  let layerLive = true;
  let ackTimer = null;
  let backfillAsked = -1;
  let wrapper = null;

  function setState(state, text) {
    conn.dataset.state = state;
    conn.textContent = text;
  }

  function setConnected() {
    if (ended) setState("live", "complete");
    else if (layerLive) setState("live", "live");
    else setState("paused", "paused");
  }

  // Each (re)connection asks for what follows the last event the page has.
  const createWebSocket = htmx.createWebSocket;
  htmx.createWebSocket = function (url) {
    if (url.indexOf(root.dataset.wsPath) >= 0) url = url.replace(/after=\d*/, "after=" + lastSeq);
    return createWebSocket(url);
  };
  htmx.config.wsReconnectDelay = function (retry) {
    return Math.min(10000, 500 * Math.pow(2, retry)) * (1 + Math.random() / 4);
  };

  function ackSoon() {
    if (ackTimer) return;
    ackTimer = setTimeout(function () {
      ackTimer = null;
      if (wrapper) wrapper.send(JSON.stringify({ type: "ack", seq: lastSeq }));
    }, 50);
  }

  socketElt.addEventListener("htmx:wsConnecting", function () {
    setState("connecting", lastSeq && !ended ? "reconnecting…" : "connecting…");
  });
  socketElt.addEventListener("htmx:wsOpen", function (evt) {
    wrapper = evt.detail.socketWrapper;
    backfillAsked = -1;
    setConnected();
  });
  socketElt.addEventListener("htmx:wsBeforeMessage", function (evt) {
    wrapper = evt.detail.socketWrapper;
    const event = EVENT.exec(evt.detail.message);
    if (!event) {
      const control = CONTROL.exec(evt.detail.message);
      if (control && control[1] === "error") console.warn("run " + root.dataset.runId + ": " + evt.detail.message);
      if (control && (control[1] === "hello" || control[1] === "live")) {
        layerLive = evt.detail.message.indexOf(' data-live="false"') < 0;
        setConnected();
      }
      return;
    }
    const seq = parseInt(event[1], 10);
    if (seq <= lastSeq) { evt.preventDefault(); return; } // a duplicate
    if (seq > lastSeq + 1) {
      evt.preventDefault();
      if (backfillAsked !== lastSeq) {
        backfillAsked = lastSeq;
        wrapper.send(JSON.stringify({ type: "backfill", after: lastSeq }));
      }
      setState("catching-up", "catching up…");
      return;
    }
    lastSeq = seq;
    root.dataset.lastSeq = String(seq);
    if (event[2] === "switchboard/end") ended = true;
  });
  socketElt.addEventListener("htmx:wsAfterMessage", function (evt) {
    if (!EVENT.test(evt.detail.message)) return;
    setConnected();
    ackSoon();
  });
  socketElt.addEventListener("htmx:wsClose", function (evt) {
    wrapper = null;
    if (evt.detail.event.code === 4403) { setState("offline", "signed out or no access"); return; }
    if (ended) {
      socketElt.remove(); // stops the extension reconnecting to a finished run
      setState("live", "complete");
      return;
    }
    // The extension reconnects after these closes only (abnormal, server error, restart).
    const retrying = [1006, 1011, 1012, 1013].indexOf(evt.detail.event.code) >= 0;
    setState("offline", retrying ? "offline, retrying…" : "offline");
  });

  if (ended) setState("live", "complete");
})();
