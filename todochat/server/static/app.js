// The todochat web page: plain fetch() calls to the API, the reply read as a stream of
// server-sent events. Every text from the server goes in through textContent, never HTML.
"use strict";

const state = { token: sessionStorage.getItem("todochat-token") || "", thread: null };
const $ = (id) => document.getElementById(id);

function say(text) { $("status").textContent = text || ""; }

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!answer.ok) {
    const problem = await answer.json().catch(() => ({ error: answer.statusText }));
    throw new Error(problem.error || `HTTP ${answer.status}`);
  }
  return answer;
}

function item(text, className) {
  const li = document.createElement("li");
  li.textContent = text;
  if (className) li.className = className;
  return li;
}

async function loadThreads() {
  const { threads } = await (await api("GET", "/threads")).json();
  const list = $("threads");
  list.replaceChildren(...threads.map((t) => {
    const li = item(t.title || "(untitled)", t.id === state.thread ? "current" : "");
    li.dataset.id = t.id;
    li.addEventListener("click", () => openThread(t.id));
    return li;
  }));
}

async function openThread(id) {
  state.thread = id;
  const { messages } = await (await api("GET", `/threads/${id}/messages`)).json();
  $("messages").replaceChildren(...messages.map((m) => item(m.content, m.role)));
  await loadThreads();
}

async function loadTasks() {
  const { tasks } = await (await api("GET", "/tasks?status=all")).json();
  $("tasks").replaceChildren(...tasks.map((t) => item(`#${t.number} ${t.title}`, t.done ? "done" : "")));
}

// Server-sent events from a fetch() body: blocks separated by a blank line.
async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message"; const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { name, data: JSON.parse(data.join("\n")) };
    }
  }
}

async function send(text) {
  if (!state.thread) state.thread = (await (await api("POST", "/threads")).json()).id;
  const messages = $("messages");
  messages.append(item(text, "user"));
  const reply = item("", "assistant");
  messages.append(reply);
  const answer = await api("POST", `/threads/${state.thread}/messages`, { text });
  for await (const { name, data } of events(answer)) {
    if (name === "delta") reply.textContent += data.text;
    else if (name === "done") {
      reply.textContent = data.text;
      if (data.changes.length) reply.append(item(data.changes.join("\n"), "changes"));
    } else if (name === "error") say(data.message);
    messages.scrollTop = messages.scrollHeight;
  }
  await Promise.all([loadTasks(), loadThreads()]);
}

function guard(work) {
  return async (event) => {
    event.preventDefault();
    say("");
    try { await work(event); } catch (error) { say(error.message); }
  };
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = state.token;
  $("token-form").addEventListener("submit", guard(async () => {
    state.token = $("token").value.trim();
    sessionStorage.setItem("todochat-token", state.token);
    await Promise.all([loadThreads(), loadTasks()]);
  }));
  $("new-thread").addEventListener("click", guard(async () => {
    state.thread = null;
    $("messages").replaceChildren();
    await loadThreads();
  }));
  $("message-form").addEventListener("submit", guard(async () => {
    const text = $("text").value;
    if (!text.trim()) return;
    $("text").value = "";
    $("send").disabled = true;
    try { await send(text); } finally { $("send").disabled = false; }
  }));
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("send").click(); }
  });
  if (state.token) Promise.all([loadThreads(), loadTasks()]).catch((e) => say(e.message));
});
