// A JSON-RPC 2.0 client written with Node's standard library only: raw TCP (net) and HTTP (http).
// Usage: node client.mjs HOST:PORT   Prints one JSON object describing what the server answered.
import net from "node:net";
import http from "node:http";

const [host, port] = process.argv[2].split(":");

// Raw TCP: write newline-terminated requests, read newline-terminated replies.
function tcpExchange(lines, expectReplies) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port) });
    const replies = [];
    let buffer = "";
    socket.setTimeout(10000, () => reject(new Error("tcp timeout")));
    socket.on("error", reject);
    socket.on("connect", () => socket.write(lines.map((l) => JSON.stringify(l) + "\n").join("")));
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        replies.push(JSON.parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
      }
      if (replies.length >= expectReplies) {
        socket.end();
        resolve(replies);
      }
    });
  });
}

function post(body) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const request = http.request(
      { host, port: Number(port), path: "/", method: "POST", timeout: 10000,
        headers: { "Content-Type": "application/json", "Content-Length": data.length } },
      (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode, body: text ? JSON.parse(text) : null }));
      });
    request.on("timeout", () => request.destroy(new Error("http timeout")));
    request.on("error", reject);
    request.end(data);
  });
}

const multiply = (a, b, id) => ({ jsonrpc: "2.0", method: "Arith.Multiply", params: [{ A: a, B: b }], id });

const tcp = await tcpExchange([
  multiply(7, 8, 1),
  { jsonrpc: "2.0", method: "Echo.Str", params: ["note"] },            // notification: no reply
  [multiply(2, 3, "b1"), { jsonrpc: "2.0", method: "Arith.Divide", params: [{ A: 1, B: 0 }], id: "b2" }],
  { jsonrpc: "2.0", method: "Arith.Power", params: [], id: 3 },
], 3);
const single = await post(multiply(6, 7, 10));
const batch = await post([multiply(1, 1, 11), { jsonrpc: "2.0", method: "Echo.Int", params: [1] }]);
const notification = await post({ jsonrpc: "2.0", method: "Echo.Int", params: [1] });
const garbage = await new Promise((resolve, reject) => {
  const request = http.request({ host, port: Number(port), path: "/", method: "POST",
    headers: { "Content-Type": "application/json" } }, (response) => {
    let text = "";
    response.on("data", (chunk) => (text += chunk));
    response.on("end", () => resolve({ status: response.statusCode, body: JSON.parse(text) }));
  });
  request.on("error", reject);
  request.end("{not json");
});

console.log(JSON.stringify({ tcp, single, batch, notification, garbage }));
