// The quality parts of the work page: the reviewer's reject reasons, the reasons an annotator
// got back, and a consensus job's versions side by side.

function countObjects(annotations) {
  if (Array.isArray(annotations)) return annotations.length;
  if (!annotations || typeof annotations !== "object") return 0;
  return Object.values(annotations).reduce((n, v) => n + (Array.isArray(v) ? v.length : 0), 0);
}

// Checkboxes of the project's reject reasons (none: the box stays hidden).
export function refreshReasonChoices(box, job) {
  const choices = job.reject_reason_choices || [];
  box.hidden = job.step !== "review" || choices.length === 0;
  box.replaceChildren();
  for (const name of choices) {
    const label = document.createElement("label");
    label.className = "reason";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = name;
    input.name = "reason";
    label.append(input, ` ${name}`);
    box.append(label);
  }
}

export function chosenReasons(box) {
  return [...box.querySelectorAll("input[name=reason]:checked")].map((input) => input.value);
}

// The error types of the last rejection, shown with its comment.
export function refreshReasonsShown(list, job) {
  const reasons = job.reject_reasons || [];
  list.hidden = reasons.length === 0;
  list.replaceChildren(
    ...reasons.map((name) => {
      const item = document.createElement("li");
      item.textContent = name;
      return item;
    }),
  );
}

function labelsOf(annotations) {
  const objects = Array.isArray(annotations)
    ? annotations
    : Object.values(annotations || {}).flatMap((v) => (Array.isArray(v) ? v : []));
  const counts = new Map();
  for (const obj of objects) counts.set(obj.label, (counts.get(obj.label) || 0) + 1);
  return counts;
}

// The versions side by side: one column each (the merge first), a row per class with how
// many objects of it each version has; rows where they differ are marked.
function comparison(table, columns) {
  const counted = columns.map(([, annotations]) => labelsOf(annotations));
  const labels = [...new Set(counted.flatMap((c) => [...c.keys()]))].sort();
  const head = document.createElement("tr");
  head.append(document.createElement("th"));
  for (const [name] of columns) {
    const th = document.createElement("th");
    th.textContent = name;
    head.append(th);
  }
  const rows = labels.map((label) => {
    const row = document.createElement("tr");
    const values = counted.map((c) => c.get(label) || 0);
    row.classList.toggle("differs", new Set(values.slice(1)).size > 1);
    row.dataset.label = label;
    const th = document.createElement("th");
    th.textContent = label;
    row.append(th);
    for (const value of values) {
      const td = document.createElement("td");
      td.textContent = String(value);
      row.append(td);
    }
    return row;
  });
  table.replaceChildren(head, ...rows);
}

// A consensus job in review: each annotator's version, with a button that loads it into the
// editor (the reviewer then accepts it as is or corrects it); "merged" loads the merge back.
export function refreshVersions(panel, job, load) {
  const versions = job.versions || [];
  panel.hidden = versions.length === 0;
  const list = panel.querySelector("ol");
  list.replaceChildren();
  const merged = job.draft;
  comparison(panel.querySelector("table"), [
    ["Merged", merged],
    ...versions.map((version, i) => [`V${i + 1}`, version.annotations]),
  ]);
  const entry = (text, annotations) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.addEventListener("click", () => {
      for (const other of list.querySelectorAll("button")) other.removeAttribute("aria-pressed");
      button.setAttribute("aria-pressed", "true");
      load(annotations);
    });
    item.append(button);
    return item;
  };
  list.append(entry(`Merged (${countObjects(merged)} objects)`, merged));
  versions.forEach((version, i) => {
    list.append(
      entry(`Version ${i + 1} (${countObjects(version.annotations)} objects)`, version.annotations),
    );
  });
}
