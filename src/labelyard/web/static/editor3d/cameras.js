// The camera images of a frame, with the lidar points and the cuboids projected onto them.
import { labelColour } from "./model.js";
import { CUBOID_EDGES, cuboidCorners, project } from "./projection.js";

const CAMERA_POINTS = 20000;

/** One image and overlay per camera sensor of the frame, in `holder`. */
export function buildCameras(holder, sensors, meta, { onLoad, onClick }) {
  holder.replaceChildren(
    ...sensors.map((sensor) => {
      const box = document.createElement("div");
      box.className = "camera";
      box.dataset.sensor = sensor.sensor_id;
      const name = document.createElement("span");
      name.className = "view-name";
      name.textContent = meta[sensor.sensor_id].name || sensor.sensor_id;
      const image = document.createElement("img");
      image.alt = name.textContent;
      image.addEventListener("load", () => {
        performance.mark(`labelyard3d-camera-${sensor.sensor_id}`);
        onLoad(box, sensor);
      });
      image.src = sensor.data_url;
      const canvas = document.createElement("canvas");
      canvas.addEventListener("click", (event) => onClick(event, box, sensor));
      box.append(image, canvas, name);
      return box;
    }),
  );
}

function corners(cam, box) {
  const pixels = cuboidCorners(box).map((c) => project(cam, c));
  return pixels.some((p) => p === null) ? null : pixels;
}

/** Draw the points of `cloud` (world frame, may be null) and `boxes` ([{id, label, box}]). */
export function drawCamera(holder, cam, cloud, boxes, selected) {
  const image = holder.querySelector("img");
  const canvas = holder.querySelector("canvas");
  if (!image.naturalWidth) return;
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (cloud) {
    const step = Math.max(1, Math.floor(cloud.count / CAMERA_POINTS));
    const [tx, ty] = cam.transform.translation;
    for (let i = 0; i < cloud.count; i += step) {
      const p = [cloud.xyz[3 * i], cloud.xyz[3 * i + 1], cloud.xyz[3 * i + 2]];
      const uv = project(cam, p);
      if (!uv || uv[0] < 0 || uv[1] < 0 || uv[0] >= canvas.width || uv[1] >= canvas.height)
        continue;
      const depth = Math.hypot(p[0] - tx, p[1] - ty);
      context.fillStyle = `hsl(${Math.min(depth * 4, 240)}, 90%, 55%)`;
      context.fillRect(uv[0] - 1, uv[1] - 1, 2, 2);
    }
  }
  context.lineWidth = Math.max(1, canvas.width / 640);
  for (const { id, label, box } of boxes) {
    const pixels = corners(cam, box);
    if (!pixels) continue;
    context.strokeStyle = id === selected ? "#ffffff" : labelColour(label);
    context.beginPath();
    for (const [a, b] of CUBOID_EDGES) {
      context.moveTo(pixels[a][0], pixels[a][1]);
      context.lineTo(pixels[b][0], pixels[b][1]);
    }
    context.stroke();
  }
}

/** The id of the box whose projection holds the clicked pixel, or null. */
export function boxAtClick(event, holder, cam, boxes) {
  const canvas = holder.querySelector("canvas");
  const rect = canvas.getBoundingClientRect();
  // object-fit: contain: the image is scaled to fit and centred.
  const scale = Math.min(rect.width / canvas.width, rect.height / canvas.height);
  const u = (event.clientX - rect.left - (rect.width - canvas.width * scale) / 2) / scale;
  const v = (event.clientY - rect.top - (rect.height - canvas.height * scale) / 2) / scale;
  const hit = boxes.find(({ box }) => {
    const pixels = corners(cam, box);
    if (!pixels) return false;
    const us = pixels.map((c) => c[0]);
    const vs = pixels.map((c) => c[1]);
    return (
      u >= Math.min(...us) && u <= Math.max(...us) && v >= Math.min(...vs) && v <= Math.max(...vs)
    );
  });
  return hit ? hit.id : null;
}
