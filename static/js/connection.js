// The WebSocket to /ws: binary frames decoded in order, JSON messages dispatched by type.

import { decodeFrame } from "./protocol.js";

export const CLOSE_REASONS = {
  1000: "the server ended the session",
  1001: "the server is going away (restart or shutdown)",
  1006: "the connection was lost",
  1008: "the server refused the request",
  1011: "the server hit an internal error",
  1013: "the server is full (too many simulations or viewers); try again later",
};

export class Connection {
  constructor(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.ws = null;
    this.decoding = Promise.resolve();
    this.lastServerError = null;
    this.lensNames = []; // hello.vocab.lenses names: the lens id of a binary frame indexes them
  }

  open() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => this.h.onOpen();
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        let m;
        try { m = JSON.parse(ev.data); } catch { this.h.onProblem("server sent a message that is not JSON"); return; }
        if (m.type === "error") this.lastServerError = m.message;
        this.h.onMessage(m);
        return;
      }
      const buf = ev.data;
      this.decoding = this.decoding
        .then(() => decodeFrame(buf, this.lensNames))
        .then((f) => this.h.onFrame(f))
        .catch((err) => this.h.onProblem(String(err && err.message ? err.message : err)));
    };
    ws.onclose = (ev) => {
      const base = CLOSE_REASONS[ev.code] || `closed (code ${ev.code})`;
      const reason = ev.reason || this.lastServerError || "";
      this.h.onClose(ev.code, reason ? `${base}: ${reason}` : base);
    };
  }

  send(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  close() { if (this.ws) this.ws.close(1000); }
}
