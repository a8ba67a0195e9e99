// The worker API of the web UI (/ui/api/work/...), authorised by the session cookie and the
// page's CSRF token. Answers are the API's envelope: its data, or an Error with its message.

export async function call(csrf, projectId, path, body, keepalive = false) {
  const response = await fetch(`/ui/api/work/${projectId}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": csrf },
    body: JSON.stringify(body || {}),
    keepalive, // lets the last draft of a closing tab still be sent
  });
  if (response.status === 204) return null;
  const failed = { success: false, error: { message: response.statusText } };
  const envelope = await response.json().catch(() => failed);
  if (!envelope.success) throw new Error(envelope.error?.message || `HTTP ${response.status}`);
  return envelope.data;
}

// An action on the job (draft, heartbeat, submit, skip, review).
export function act(csrf, job, action, body, keepalive = false) {
  return call(csrf, job.project_id, `/jobs/${job.job_id}/${action}`, body, keepalive);
}

// The image URLs of the job "next" would open at this step, or [] if there is none.
export async function upcomingSources(job) {
  const step = encodeURIComponent(job.step);
  const response = await fetch(`/ui/api/work/${job.project_id}/upcoming?step=${step}`);
  if (!response.ok) return [];
  const { data } = await response.json();
  return data.sources;
}

// Why the server thinks one of the job's media (as the page got it) does not load:
// {field, url, reason}, or null if it cannot say.
export async function mediaProblem(job, src) {
  const query = `src=${encodeURIComponent(src)}`;
  const path = `/ui/api/work/${job.project_id}/jobs/${job.job_id}/media-problem?${query}`;
  const response = await fetch(path);
  if (!response.ok) return null;
  const { data } = await response.json();
  return data;
}
