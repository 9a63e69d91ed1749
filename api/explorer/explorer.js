// The auditors' explorer (志愿积分链 审计浏览器): one page over the /v1/audit API, no build step,
// no external resources (air-gapped networks). Routes live in the URL fragment (#/tx/0x...,
// #/record/12, ...), so every account, record, transaction, block and scheme is a link.
"use strict";

const TEXT = {
  zh: {
    title: "审计浏览器", switch: "English", search: "搜索", use_token: "使用令牌", wallet: "用钱包登录",
    signin_intro: "审计员请登录：用钱包签名，或粘贴令牌（vpl 或 API 取得）。",
    token_ph: "Bearer 令牌", search_ph: "交易哈希、区块号、地址、记录（record 12）、批次（batch 3）或积分体系代码",
    footer: "链上数据为准；索引只说明发生在哪里。",
    kind: { tx: "交易", block: "区块", address: "地址", record: "服务记录", batch: "批次", scheme: "积分体系" },
    indexed: (b, behind) => behind ? `索引至区块 ${b}，落后 ${behind} 块` : `索引至区块 ${b}（最新）`,
    loading: "加载中…", none: "没有记录", more: "更多", problems: "问题", no_problems: "未发现问题",
    latest: "最新事件", schemes: "积分体系", supply: "供应量", supply_chart: "各时段供应量",
    reconciliation: "对账", balanced: "链上与索引一致", unbalanced: "不一致",
    events: "事件", movements: "积分变动", records: "记录", people: "人员", activity: "活动",
    store: "链下详情", store_ok: "与链上一致", store_bad: "与链上不一致", store_none: "本库无此记录",
    status: "状态", volunteer: "志愿者", submitter: "提交人", reviewer: "审核人", first_reviewer: "初审人",
    service: "服务时间", points: "积分", balances: "余额", member: "成员", registrar: "登记人",
    block: "区块", time: "时间", tx: "交易", amount: "数量", from: "从", to: "到", kind_col: "类型", cause: "来源",
    issued_for: "发放依据", registered: "登记于", flows: "积分来往",
    s: {
      RecordSubmitted: a => `${a.submitter} 为 ${a.volunteer} 提交了服务记录 ${a.record}`,
      RecordFirstApproval: a => `${a.reviewer} 初审通过服务记录 ${a.record}`,
      RecordApproved: a => `${a.reviewer} 审核通过 ${a.volunteer} 的服务记录 ${a.record}：${a.points} 积分`,
      RecordRejected: a => `${a.reviewer} 驳回服务记录 ${a.record}`,
      RecordSuperseded: a => `服务记录 ${a.record} 被更正记录 ${a.correction} 取代`,
      BatchSubmitted: a => `${a.submitter} 提交批次 ${a.batch}（${a.count} 条记录）`,
      BatchApproved: a => `${a.reviewer} 审核通过批次 ${a.batch}：${a.count} 条记录，${a.points} 积分`,
      PointsIssued: a => `${a.scheme} 向 ${a.member} 发放 ${a.amount} 积分，依据 ${a.source}`,
      PointsIssuedInBatch: a => `${a.scheme} 向 ${a.count} 名成员发放共 ${a.amount} 积分，依据 ${a.source}`,
      PointsCorrected: a => `${a.scheme} 更正 ${a.member} 的积分 ${a.delta}，依据 ${a.source}`,
      TransferSingle: a => `${a.amount} ${a.scheme} 积分从 ${a.from} 转到 ${a.to}`,
      MemberRegistered: a => `${a.registrar} 登记了成员 ${a.member}`,
      MemberFrozen: a => `${a.by} 冻结了成员 ${a.member}`,
      Exchanged: a => `${a.member} 以 ${a.used} ${a.fromScheme} 积分兑换 ${a.out} ${a.toScheme} 积分`,
      OrderPlaced: a => `${a.member} 下单兑换商品 ${a.itemId}：${a.points} 积分（订单 ${a.orderId}）`,
      PointsGiven: a => `${a.from} 赠送 ${a.amount} ${a.scheme} 积分给 ${a.to}`,
      ActivityCreated: a => `${a.organiser} 发布活动 ${a.activityId}`,
      ActivityCancelled: a => `${a.by} 取消活动 ${a.activityId}`,
    },
  },
  en: {
    title: "Auditors' explorer", switch: "中文", search: "Search", use_token: "Use token", wallet: "Sign in with a wallet",
    signin_intro: "Auditors sign in: with a wallet signature, or paste a token (from vpl or the API).",
    token_ph: "Bearer token", search_ph: "tx hash, block number, address, record (record 12), batch (batch 3) or scheme code",
    footer: "The chain is the source of truth; the index only says where things happened.",
    kind: { tx: "transaction", block: "block", address: "address", record: "service record", batch: "batch", scheme: "scheme" },
    indexed: (b, behind) => behind ? `indexed to block ${b}, ${behind} blocks behind` : `indexed to block ${b} (up to date)`,
    loading: "Loading…", none: "Nothing yet", more: "More", problems: "Problems", no_problems: "No problems found",
    latest: "Latest events", schemes: "Schemes", supply: "Supply", supply_chart: "Supply over time",
    reconciliation: "Reconciliation", balanced: "chain and index agree", unbalanced: "they differ",
    events: "Events", movements: "Points moved", records: "Records", people: "People", activity: "Activity",
    store: "Off-chain details", store_ok: "match the chain", store_bad: "DIFFER from the chain", store_none: "not in this store",
    status: "Status", volunteer: "Volunteer", submitter: "Submitted by", reviewer: "Decided by", first_reviewer: "First approval",
    service: "Service", points: "Points", balances: "Balances", member: "Member", registrar: "Registered by",
    block: "Block", time: "Time", tx: "Transaction", amount: "Amount", from: "From", to: "To", kind_col: "Kind", cause: "Cause",
    issued_for: "Issued for", registered: "Registered", flows: "Points in and out",
    s: {
      RecordSubmitted: a => `${a.submitter} submitted service record ${a.record} for ${a.volunteer}`,
      RecordFirstApproval: a => `${a.reviewer} gave service record ${a.record} its first approval`,
      RecordApproved: a => `${a.reviewer} approved ${a.volunteer}'s service record ${a.record}: ${a.points} points`,
      RecordRejected: a => `${a.reviewer} rejected service record ${a.record}`,
      RecordSuperseded: a => `service record ${a.record} was superseded by correction ${a.correction}`,
      BatchSubmitted: a => `${a.submitter} submitted batch ${a.batch} (${a.count} records)`,
      BatchApproved: a => `${a.reviewer} approved batch ${a.batch}: ${a.count} records, ${a.points} points`,
      PointsIssued: a => `${a.scheme} issued ${a.amount} points to ${a.member} for ${a.source}`,
      PointsIssuedInBatch: a => `${a.scheme} issued ${a.amount} points to ${a.count} members for ${a.source}`,
      PointsCorrected: a => `${a.scheme} corrected ${a.member}'s points by ${a.delta} for ${a.source}`,
      TransferSingle: a => `${a.amount} ${a.scheme} points moved from ${a.from} to ${a.to}`,
      MemberRegistered: a => `${a.registrar} registered member ${a.member}`,
      MemberFrozen: a => `${a.by} froze member ${a.member}`,
      Exchanged: a => `${a.member} exchanged ${a.used} ${a.fromScheme} points for ${a.out} ${a.toScheme} points`,
      OrderPlaced: a => `${a.member} ordered item ${a.itemId} for ${a.points} points (order ${a.orderId})`,
      PointsGiven: a => `${a.from} gave ${a.amount} ${a.scheme} points to ${a.to}`,
      ActivityCreated: a => `${a.organiser} published activity ${a.activityId}`,
      ActivityCancelled: a => `${a.by} cancelled activity ${a.activityId}`,
    },
  },
};

const browserLanguage = (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
const state = {
  lang: sessionStorage.getItem("vpl-lang") || browserLanguage,
  // sessionStorage only: the token is gone when the tab closes.
  token: sessionStorage.getItem("vpl-token") || "",
  schemes: {},
};
const t = () => TEXT[state.lang];
const $ = (sel) => document.querySelector(sel);
const ZERO = "0x0000000000000000000000000000000000000000";

// --- safe HTML -------------------------------------------------------------------------------
function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
const short = (h) => (h && h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-4)}` : h);
const link = (route, label, cls = "") => `<a href="#/${esc(route)}" class="${esc(cls)}" data-route="${esc(route)}">${esc(label)}</a>`;
const addr = (a) => (!a || a.toLowerCase() === ZERO ? "0x0" : link(`address/${a}`, short(a), "mono addr"));
const txLink = (h) => link(`tx/${h}`, short(h), "mono tx");
const blockLink = (b) => link(`block/${b}`, `#${b}`, "block");
const recordLink = (id) => link(`record/${id}`, `#${id}`, "record");
const batchLink = (id) => link(`batch/${id}`, `batch ${id}`, "batch");
const schemeLink = (id) => {
  const s = state.schemes[String(id)];
  return s ? link(`scheme/${s.code}`, s.code, "scheme") : esc(`scheme ${id}`);
};
function when(value) {
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return `${d.toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB", { timeZone: "Asia/Shanghai", hour12: false })} CST`;
}

// --- the API ---------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status; this.code = e.code; this.zh = e.message_zh;
  }
}
async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const res = await fetch(path, { ...options, headers });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}
function showError(err) {
  const box = $("#error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  // The Chinese message names the kind of error; the details (which hash, how far behind) follow.
  box.textContent = state.lang === "zh" && err.zh ? `${err.zh} ${err.message}` : err.message;
  if (err.status === 401) $("#signin").hidden = false;
}

// --- domain sentences --------------------------------------------------------------------------
function sourceLink(source) {
  const n = BigInt(source);
  const tag = Number(n >> 248n);
  const id = (n & ((1n << 248n) - 1n)).toString();
  return tag === 1 ? recordLink(id) : tag === 2 ? batchLink(id) : esc(short(source));
}
function sentence(e) {
  const a = e.args || {};
  const v = {};
  for (const [k, x] of Object.entries(a)) {
    v[k] = typeof x === "string" && /^0x[0-9a-fA-F]{40}$/.test(x) ? addr(x) : esc(typeof x === "object" ? JSON.stringify(x) : x);
  }
  if ("recordId" in a) v.record = recordLink(a.recordId);
  if ("correction" in a) v.correction = recordLink(a.correction);
  if ("batchId" in a) v.batch = batchLink(a.batchId);
  if ("schemeId" in a) v.scheme = schemeLink(a.schemeId);
  if ("fromScheme" in a) v.fromScheme = schemeLink(a.fromScheme);
  if ("toScheme" in a) v.toScheme = schemeLink(a.toScheme);
  if ("source" in a) v.source = sourceLink(a.source);
  if (e.event === "TransferSingle") { v.scheme = schemeLink(a.id); v.amount = esc(a.value); }
  const make = t().s[e.event];
  const text = make ? make(v) : `${esc(e.event)} ${Object.entries(v).map(([k, x]) => `${esc(k)}=${x}`).join(" ")}`;
  return `<li class="event" data-event="${esc(e.event)}">${text} <span class="muted">— ${blockLink(e.block)} · ${txLink(e.tx_hash)} · ${esc(when(e.timestamp))}</span></li>`;
}
const eventList = (events) => (events.length ? `<ol class="events">${events.map(sentence).join("")}</ol>` : `<p class="muted">${t().none}</p>`);
function rows(headers, body) {
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}
function problems(list) {
  return list && list.length
    ? `<h3>${t().problems}</h3><ul id="problems">${list.map((p) => `<li class="problem">${esc(p)}</li>`).join("")}</ul>`
    : `<p class="ok" id="problems">${t().no_problems}</p>`;
}
function storeLine(s) {
  if (!s.found) return `<span class="muted">${t().store_none}</span>`;
  return s.matches ? `<span class="ok">${t().store_ok}</span>` : `<span class="problem">${t().store_bad}: ${esc(s.problems.join("; "))}</span>`;
}

// --- views -------------------------------------------------------------------------------------
const views = {
  async home() {
    const [events] = await Promise.all([api("/v1/audit/events?limit=20")]);
    const schemes = Object.values(state.schemes);
    return `<h2>${t().schemes}</h2>${rows(["code", "name", "issuer"], schemes.map((s) => [link(`scheme/${s.code}`, s.code, "scheme"), esc(s.name), addr(s.issuer)]))}
      <h2>${t().latest}</h2>${eventList(events.entries)}`;
  },
  async tx(hash) {
    const tr = await api(`/v1/audit/trace?tx_hash=${encodeURIComponent(hash)}`);
    const moves = tr.movements.map((m) => [esc(m.kind), schemeLink(m.scheme_id), addr(m.from_address), addr(m.to_address), esc(m.amount),
      m.record ? recordLink(m.record.record_id) : m.batch ? batchLink(m.batch.batch_id) : esc(m.reference || "")]);
    return `<h2>${t().tx} <code>${esc(tr.tx_hash)}</code></h2><p>${t().block} ${blockLink(tr.block)} · ${esc(when(tr.timestamp))}</p>
      <h3>${t().events}</h3>${eventList(tr.events.map((e) => ({ ...e, tx_hash: tr.tx_hash, timestamp: e.timestamp })))}
      <h3>${t().movements}</h3>${rows([t().kind_col, t().schemes, t().from, t().to, t().amount, t().cause], moves)}`;
  },
  async block(number) {
    const page = await api(`/v1/audit/events?block=${encodeURIComponent(number)}&limit=200`);
    return `<h2>${t().block} #${esc(number)}</h2>${eventList(page.entries)}`;
  },
  async address(account, cursor) {
    const f = await api(`/v1/audit/members/${encodeURIComponent(account)}?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    const balances = Object.entries(f.balances).map(([code, n]) => [link(`scheme/${code}`, code, "scheme"), esc(n)]);
    const flows = Object.entries(f.flows).flatMap(([code, kinds]) => Object.entries(kinds).map(([k, x]) => [esc(code), esc(k), esc(x.in), esc(x.out), esc(x.count)]));
    const more = f.events.next_cursor ? `<p>${link(`address/${f.address}/${f.events.next_cursor}`, t().more, "more")}</p>` : "";
    return `<h2>${t().member} <code>${esc(f.address)}</code></h2>
      <p>${t().status}: <strong id="member-status">${esc(f.status)}</strong> · ${t().registrar}: ${f.registrar ? addr(f.registrar) : "-"}${f.registered_at ? ` · ${t().registered} ${esc(when(f.registered_at))}` : ""}</p>
      <h3>${t().balances}</h3>${rows(["", t().amount], balances)}
      <h3>${t().flows}</h3>${rows(["", t().kind_col, "+", "-", "n"], flows)}
      <h3>${t().events}</h3>${eventList(f.events.entries)}${more}`;
  },
  async record(id) {
    const r = await api(`/v1/audit/records/${encodeURIComponent(id)}/trace`);
    const people = [[t().volunteer, addr(r.volunteer)], [t().submitter, addr(r.submitter)],
      [t().first_reviewer, r.first_reviewer ? addr(r.first_reviewer) : "-"], [t().reviewer, r.reviewer ? addr(r.reviewer) : "-"]];
    const act = r.activity
      ? `<h3>${t().activity} ${esc(r.activity.id)}</h3><p>${esc(when(r.activity.start))} – ${esc(when(r.activity.end))} · ${addr(r.activity.organiser)}${r.activity.cancelled ? " · ✕" : ""} · ${t().store}: ${storeLine(r.activity.store)}</p>`
      : "";
    const issued = r.issued.map((m) => [esc(m.kind), addr(m.to), esc(m.amount), txLink(m.tx_hash), blockLink(m.block)]);
    return `<h2 id="record-title">${t().kind.record} #${esc(r.record_id)} · ${schemeLink(r.scheme_id)} · <span id="record-status">${esc(r.status)}</span></h2>
      <p>${t().service}: ${esc(when(r.start))} – ${esc(when(r.end))} · ${t().points}: <strong id="record-points">${esc(r.points)}</strong></p>
      <h3>${t().people}</h3>${rows(["", ""], people.map(([k, v]) => [esc(k), v]))}${act}
      <h3>${t().events}</h3>${eventList(r.events.map((s) => ({ ...s })))}
      <h3>${t().movements}</h3>${rows([t().kind_col, t().to, t().amount, t().tx, t().block], issued)}
      <p>${t().store}: <span id="record-store">${storeLine(r.store)}</span></p>${problems(r.problems)}`;
  },
  async batch(id) {
    const b = await api(`/v1/audit/batches/${encodeURIComponent(id)}/trace`);
    const lines = b.records.map((r) => [esc(r.index), addr(r.volunteer), `${esc(when(r.start))} – ${esc(when(r.end))}`, r.record_id ? recordLink(r.record_id) : "-", storeLine(r.store)]);
    return `<h2>${t().kind.batch} ${esc(b.batch_id)} · ${schemeLink(b.scheme_id)} · ${esc(b.status)}</h2>
      <p>${t().submitter}: ${addr(b.submitter)} · ${t().reviewer}: ${b.reviewer ? addr(b.reviewer) : "-"} · ${t().points}: ${esc(b.points)}</p>
      <h3>${t().events}</h3>${eventList(b.events)}<h3>${t().records}</h3>${rows(["#", t().volunteer, t().service, t().kind.record, t().store], lines)}${problems(b.problems)}`;
  },
  async scheme(code) {
    const s = Object.values(state.schemes).find((x) => x.code === code) || (await api(`/v1/schemes/${encodeURIComponent(code)}`));
    const [rec, series, events] = await Promise.all([
      api(`/v1/audit/schemes/${encodeURIComponent(code)}/reconciliation`),
      api(`/v1/audit/supply-series?scheme=${encodeURIComponent(code)}&bucket=day`),
      api(`/v1/audit/events?ref=scheme:${s.id}&limit=20`),
    ]);
    return `<h2>${t().kind.scheme} ${esc(s.code)} · ${esc(s.name)}</h2>
      <p>${t().supply}: <strong id="total-supply">${esc(rec.chain.total_supply)}</strong> · ${t().reconciliation}: <span id="reconciliation" class="${rec.balanced ? "ok" : "problem"}">${rec.balanced ? t().balanced : t().unbalanced}</span></p>
      ${problems(rec.findings)}<h3>${t().supply_chart}</h3>${chart(series.points)}<h3>${t().latest}</h3>${eventList(events.entries)}`;
  },
};

function chart(points) {
  if (!points.length) return `<p class="muted">${t().none}</p>`;
  const w = 640, h = 200, pad = 36;
  const max = Math.max(1, ...points.map((p) => p.total));
  const x = (i) => pad + (points.length === 1 ? (w - 2 * pad) / 2 : (i * (w - 2 * pad)) / (points.length - 1));
  const y = (v) => h - pad + 10 - (v * (h - 2 * pad)) / max;
  const coords = points.map((p, i) => `${x(i).toFixed(1)},${y(p.total).toFixed(1)}`).join(" ");
  const dots = points.map((p, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(p.total).toFixed(1)}" r="3"><title>${esc(when(p.start))}: ${esc(p.total)}</title></circle>`).join("");
  return `<svg id="supply-chart" class="chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" data-points="${points.length}" role="img" aria-label="${esc(t().supply_chart)}">
    <text x="4" y="14">${esc(max)}</text><text x="4" y="${h - pad + 10}">0</text>
    <text x="${pad}" y="${h - 4}">${esc(when(points[0].start))}</text>
    <polyline points="${coords}"></polyline>${dots}</svg>`;
}

// --- routing, search, language, sign-in --------------------------------------------------------
async function route() {
  const parts = (location.hash.replace(/^#\/?/, "") || "").split("/").filter(Boolean);
  const [kind, ...rest] = parts;
  const view = $("#view");
  showError(null);
  view.innerHTML = `<p class="muted">${t().loading}</p>`;
  try {
    if (!state.token) { $("#signin").hidden = false; view.innerHTML = ""; return; }
    await refreshStatus();
    const render = views[kind] || views.home;
    view.innerHTML = await render(...rest.map(decodeURIComponent));
    view.dataset.view = views[kind] ? kind : "home";
  } catch (err) {
    view.innerHTML = "";
    view.dataset.view = "error";
    showError(err);
  }
}
async function refreshStatus() {
  const [status, schemes] = await Promise.all([api("/v1/audit/index"), Object.keys(state.schemes).length ? null : api("/v1/schemes")]);
  if (schemes) for (const s of schemes) state.schemes[String(s.id)] = s;
  $("#index-status").textContent = t().indexed(status.indexed_block, status.blocks_behind);
  $("#index-status").dataset.behind = status.blocks_behind;
}
async function onSearch(ev) {
  ev.preventDefault();
  const q = $("#q").value.trim();
  if (!q) return;
  try {
    const hit = await api(`/v1/audit/search?q=${encodeURIComponent(q)}`);
    $("#kind").textContent = t().kind[hit.kind] || hit.kind;
    $("#kind").dataset.kind = hit.kind;
    const target = `#/${hit.kind}/${hit.target}`;
    if (location.hash === target) route(); else location.hash = target;
  } catch (err) {
    $("#kind").textContent = "";
    showError(err);
  }
}
function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t()[el.dataset.i18n]; });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t()[el.dataset.i18nPlaceholder]; });
}
function useToken(token) {
  state.token = token.trim();
  sessionStorage.setItem("vpl-token", state.token);
  $("#signin").hidden = Boolean(state.token);
  route();
}
async function walletSignIn() {
  try {
    const [account] = await window.ethereum.request({ method: "eth_requestAccounts" });
    const challenge = await api("/v1/auth/challenge", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ address: account }) });
    const signature = await window.ethereum.request({ method: "personal_sign", params: [challenge.message, account] });
    const session = await api("/v1/auth/sign-in", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ message: challenge.message, signature }) });
    useToken(session.token);
  } catch (err) {
    showError(err);
  }
}

$("#search").addEventListener("submit", onSearch);
$("#lang-switch").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  sessionStorage.setItem("vpl-lang", state.lang);
  applyLanguage();
  route();
});
$("#use-token").addEventListener("click", () => useToken($("#token").value));
if (window.ethereum) { $("#wallet-sign-in").hidden = false; $("#wallet-sign-in").addEventListener("click", walletSignIn); }
window.addEventListener("hashchange", route);
applyLanguage();
$("#signin").hidden = Boolean(state.token);
route();
