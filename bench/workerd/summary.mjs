// The table of bench/workerd.sh from its rounds: each target's median round (by requests/s, with
// its latencies and CPU per request; non-2xx and socket errors added up over all rounds), then
// issue 14's ratios, each taken within one round (both targets loaded minutes apart at most),
// and their median.
//
//   node bench/workerd/summary.mjs ROUNDS_TSV
//
// ROUNDS_TSV: one line per round and target, "round<TAB>target<TAB>req/s p50 p90 p99 max non2xx
// sockerr cpu_us" (latencies in ms), as bench/workerd.sh writes it.
import { readFileSync } from "node:fs";

const [file] = process.argv.slice(2);
if (!file) {
  console.error("usage: node bench/workerd/summary.mjs ROUNDS_TSV");
  process.exit(2);
}

const runs = new Map(); // target -> [{round, rps, p50, p90, p99, max, bad, sock, cpu}]
for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
  const [round, target, numbers] = line.split("\t");
  const [rps, p50, p90, p99, max, bad, sock, cpu] = numbers.split(" ").map(Number);
  if (!runs.has(target)) runs.set(target, []);
  runs.get(target).push({ round: Number(round), rps, p50, p90, p99, max, bad, sock, cpu });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const pad = (text, width) => String(text).padStart(width);

console.log(
  `${"target".padEnd(30)} ${pad("req/s", 8)} ${pad("p50 ms", 8)} ${pad("p90 ms", 8)} ${pad("p99 ms", 8)}` +
    ` ${pad("max ms", 8)} ${pad("non-2xx", 7)} ${pad("sock err", 8)} ${pad("CPU us/req", 10)}`,
);
for (const [target, rounds] of runs) {
  // The median round by requests/s (the lower middle one for an even count).
  const byRate = [...rounds].sort((a, b) => a.rps - b.rps);
  const m = byRate[(byRate.length - 1) >> 1];
  const bad = rounds.reduce((sum, r) => sum + r.bad, 0);
  const sock = rounds.reduce((sum, r) => sum + r.sock, 0);
  console.log(
    `${target.padEnd(30)} ${pad(m.rps, 8)} ${pad(m.p50.toFixed(3), 8)} ${pad(m.p90.toFixed(3), 8)}` +
      ` ${pad(m.p99.toFixed(3), 8)} ${pad(m.max.toFixed(3), 8)} ${pad(bad, 7)} ${pad(sock, 8)}` +
      ` ${pad(median(rounds.map((r) => r.cpu)).toFixed(1), 10)}`,
  );
}

// Issue 14's goals: [what, target, against, goal or null when there is none].
const RATIOS = [
  ["healthz / empty Worker", "GET /healthz", "empty Worker", 0.8],
  ["echostr / empty Worker", "GET /wechat/oa echostr", "empty Worker", 0.7],
  ["POST plain / JS, 2 KV reads + send", "POST /wechat/oa plain", "empty Worker + POST's I/O", 1.0],
  ["POST safe / JS, 2 KV reads + send", "POST /wechat/oa safe (AES)", "empty Worker + POST's I/O", 1.0],
  ["POST plain / JS, kefu-edge's I/O", "POST /wechat/oa plain", "JS Worker, kefu-edge's I/O", null],
  ["POST safe / JS, kefu-edge's I/O", "POST /wechat/oa safe (AES)", "JS Worker, kefu-edge's I/O", null],
  // What the glue alone costs (the same I/O in Rust), and kefu-edge's own work beyond it.
  ["Rust / JS, kefu-edge's I/O", "Rust Worker, kefu-edge's I/O", "JS Worker, kefu-edge's I/O", null],
  ["POST plain / Rust, kefu-edge's I/O", "POST /wechat/oa plain", "Rust Worker, kefu-edge's I/O", null],
  ["POST safe / Rust, kefu-edge's I/O", "POST /wechat/oa safe (AES)", "Rust Worker, kefu-edge's I/O", null],
];
const roundCount = Math.max(...[...runs.values()].map((r) => r.length));
const roundHeads = Array.from({ length: roundCount }, (_, i) => pad(`round ${i + 1}`, 8)).join(" ");
console.log(`\n${"requests/s ratio (goal)".padEnd(46)} ${roundHeads} ${pad("median", 7)}`);
for (const [what, target, against, goal] of RATIOS) {
  const mine = runs.get(target) ?? [];
  const theirs = runs.get(against) ?? [];
  const ratios = mine
    .map((r) => {
      const base = theirs.find((t) => t.round === r.round);
      return base && base.rps > 0 ? r.rps / base.rps : null;
    })
    .filter((ratio) => ratio !== null);
  if (ratios.length === 0) continue;
  const label = `${what}${goal === null ? "" : ` (>= ${goal.toFixed(1)})`}`;
  const cells = ratios.map((ratio) => pad(ratio.toFixed(2), 8)).join(" ");
  console.log(`${label.padEnd(46)} ${cells} ${pad(median(ratios).toFixed(2), 7)}`);
}
