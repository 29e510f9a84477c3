// A line diff between two revisions, rendered as YAML-like text.

function yaml(value, indent) {
  const pad = "  ".repeat(indent);
  if (Array.isArray(value)) {
    if (!value.length) return [`${pad}[]`];
    return value.flatMap((item) => {
      const inner = yaml(item, indent + 1);
      return [`${pad}- ${inner[0].trimStart()}`, ...inner.slice(1)];
    });
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    if (!keys.length) return [`${pad}{}`];
    return keys.flatMap((key) => {
      const item = value[key];
      const nested = item && typeof item === "object" && Object.keys(item).length;
      return nested ? [`${pad}${key}:`, ...yaml(item, indent + 1)] : [`${pad}${key}: ${yaml(item, 0)[0]}`];
    });
  }
  return [`${pad}${JSON.stringify(value)}`];
}

export function revisionLines(revision) {
  return yaml({ labels: revision.labels, annotations: revision.annotations, spec: revision.spec }, 0);
}

// [{op: " "|"-"|"+", text}] from a longest common subsequence of the lines.
export function diffLines(before, after) {
  const n = before.length;
  const m = after.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lcs[i][j] = before[i] === after[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) { out.push({ op: " ", text: before[i] }); i += 1; j += 1; }
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) { out.push({ op: "-", text: before[i] }); i += 1; }
    else { out.push({ op: "+", text: after[j] }); j += 1; }
  }
  return out;
}
