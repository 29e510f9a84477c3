// The timeline picture: when each version was committed, and when each target reported
// the version it holds (green: the current version; red: failed; amber: retrying).

import { s } from "./dom.js";

const W = 640;
const LANE = 34;
const LEFT = 96;
const RIGHT = 24;

function stateOf(target, desired) {
  if (target.failedVersion >= desired && desired) return "failed";
  if (target.errorVersion >= desired && desired) return "retrying";
  return target.appliedVersion >= desired ? "synced" : "behind";
}

export function timelineSvg(timeline) {
  const versions = timeline.versions;
  const targets = timeline.targets;
  const times = [...versions.map((v) => Date.parse(v.time)), ...targets.map((t) => Date.parse(t.reportedAt))];
  const start = Math.min(...times);
  const end = Math.max(...times, start + 1000);
  const x = (t) => LEFT + ((Date.parse(t) - start) / (end - start)) * (W - LEFT - RIGHT);
  const height = LANE * (targets.length + 1) + 24;
  const desired = timeline.desiredVersion;
  const summary = [
    `${versions.length} version(s) committed`,
    ...targets.map((t) => `${t.target} holds version ${t.appliedVersion} (${stateOf(t, desired)})`),
  ].join("; ");
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const lane = (i) => 20 + i * LANE;
  return s(
    "svg",
    { viewBox: `0 0 ${W} ${height}`, class: "timeline", role: "img", "aria-label": summary },
    s("title", {}, summary),
    ["committed", ...targets.map((t) => t.target)].map((label, i) =>
      [s("text", { x: 4, y: lane(i) + 4, class: "lane" }, label),
        s("line", { x1: LEFT, x2: W - RIGHT, y1: lane(i), y2: lane(i), class: "axis" })]),
    targets.map((t, i) => {
      const from = byVersion.get(t.appliedVersion);
      const cx = x(t.reportedAt);
      return [
        from && s("line", { x1: x(from.time), y1: lane(0), x2: cx, y2: lane(i + 1), class: "link" }),
        s("circle", { cx, cy: lane(i + 1), r: 7, class: `dot dot-${stateOf(t, desired)}` },
          s("title", {}, `${t.target}: version ${t.appliedVersion} reported ${t.reportedAt}`)),
        s("text", { x: cx, y: lane(i + 1) - 11, class: "tick" }, `v${t.appliedVersion}`),
      ];
    }),
    versions.map((v) => [
      s("circle", { cx: x(v.time), cy: lane(0), r: 6, class: `dot dot-commit dot-${v.op}` },
        s("title", {}, `version ${v.version} (${v.op}) by ${v.actor} at ${v.time}`)),
      s("text", { x: x(v.time), y: lane(0) - 10, class: "tick" }, `v${v.version}`),
    ]),
  );
}
