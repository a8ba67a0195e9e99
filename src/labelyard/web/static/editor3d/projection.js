// Projection of lidar points and cuboids onto camera images: pure functions, no DOM, no state.
//
// Frames (as the job's sensor_data gives them; docs/web.md "3D editor"):
// - a pose {position: {x, y, z}, heading: {w, x, y, z}} maps a sensor's frame into the world
//   frame (the one cuboids are drawn in): world = R(heading) * p + position;
// - a lidar without a sensor_pose is the world frame (or its frame's ego_pose, if given);
// - a camera looks along its +z with +x right and +y down (OpenCV); intrinsics fx, fy, cx, cy
//   in pixels; "pinhole" (default) with Brown-Conrady distortion k1, k2, k3 (radial) and
//   p1, p2 (tangential); "fisheye" with Kannala-Brandt k1..k4 (OpenCV's fisheye model).

/** A 3x3 rotation matrix (row-major array of 9) of a quaternion {w, x, y, z}, normalised. */
export function quaternionMatrix(q) {
  const n = Math.hypot(q.w, q.x, q.y, q.z) || 1;
  const w = q.w / n;
  const x = q.x / n;
  const y = q.y / n;
  const z = q.z / n;
  return [
    1 - 2 * (y * y + z * z),
    2 * (x * y - z * w),
    2 * (x * z + y * w),
    2 * (x * y + z * w),
    1 - 2 * (x * x + z * z),
    2 * (y * z - x * w),
    2 * (x * z - y * w),
    2 * (y * z + x * w),
    1 - 2 * (x * x + y * y),
  ];
}

const IDENTITY_POSE = { rotation: [1, 0, 0, 0, 1, 0, 0, 0, 1], translation: [0, 0, 0] };

/** {rotation, translation} of a pose object; the identity for a missing pose. */
export function poseTransform(pose) {
  if (!pose?.position || !pose.heading) return IDENTITY_POSE;
  const p = pose.position;
  return { rotation: quaternionMatrix(pose.heading), translation: [p.x, p.y, p.z] };
}

/** A point of the sensor's frame in the world frame. */
export function toWorld(transform, point) {
  const r = transform.rotation;
  const t = transform.translation;
  const [x, y, z] = point;
  return [
    r[0] * x + r[1] * y + r[2] * z + t[0],
    r[3] * x + r[4] * y + r[5] * z + t[1],
    r[6] * x + r[7] * y + r[8] * z + t[2],
  ];
}

/** A world point in the sensor's frame (the inverse of toWorld). */
export function toSensor(transform, point) {
  const r = transform.rotation;
  const t = transform.translation;
  const x = point[0] - t[0];
  const y = point[1] - t[1];
  const z = point[2] - t[2];
  return [
    r[0] * x + r[3] * y + r[6] * z,
    r[1] * x + r[4] * y + r[7] * z,
    r[2] * x + r[5] * y + r[8] * z,
  ];
}

function coefficient(intrinsics, name) {
  const direct = intrinsics[name];
  if (typeof direct === "number") return direct;
  const nested = intrinsics.distortion;
  if (nested && typeof nested[name] === "number") return nested[name];
  return 0;
}

/** A camera to project with, from its sensor_meta entry and the frame's sensor_pose. */
export function camera(meta, pose) {
  const k = meta.intrinsics || {};
  return {
    id: meta.id,
    model: meta.camera_model === "fisheye" ? "fisheye" : "pinhole",
    transform: poseTransform(pose),
    fx: k.fx ?? 1,
    fy: k.fy ?? k.fx ?? 1,
    cx: k.cx ?? 0,
    cy: k.cy ?? 0,
    k1: coefficient(k, "k1"),
    k2: coefficient(k, "k2"),
    k3: coefficient(k, "k3"),
    k4: coefficient(k, "k4"),
    p1: coefficient(k, "p1"),
    p2: coefficient(k, "p2"),
  };
}

/** Normalised image coordinates (x/z, y/z) after the camera's distortion. */
export function distort(cam, a, b) {
  if (cam.model === "fisheye") {
    const r = Math.hypot(a, b);
    if (r < 1e-12) return [a, b];
    const theta = Math.atan(r);
    const t2 = theta * theta;
    const thetaD = theta * (1 + t2 * (cam.k1 + t2 * (cam.k2 + t2 * (cam.k3 + t2 * cam.k4))));
    const scale = thetaD / r;
    return [a * scale, b * scale];
  }
  const r2 = a * a + b * b;
  const radial = 1 + r2 * (cam.k1 + r2 * (cam.k2 + r2 * cam.k3));
  return [
    a * radial + 2 * cam.p1 * a * b + cam.p2 * (r2 + 2 * a * a),
    b * radial + cam.p1 * (r2 + 2 * b * b) + 2 * cam.p2 * a * b,
  ];
}

/** The pixel [u, v] of a world point, or null when it is behind the camera. */
export function project(cam, world) {
  const [x, y, z] = toSensor(cam.transform, world);
  if (z <= 1e-6) return null;
  const [a, b] = distort(cam, x / z, y / z);
  return [cam.fx * a + cam.cx, cam.fy * b + cam.cy];
}

/**
 * Project many points (Float32Array of xyz in the lidar frame, with the lidar's transform to the
 * world) into `out` (Float32Array of u, v, index triples); the number written.
 */
export function projectPoints(cam, lidar, xyz, out, width, height) {
  let written = 0;
  const p = [0, 0, 0];
  for (let i = 0, n = xyz.length / 3; i < n; i++) {
    p[0] = xyz[3 * i];
    p[1] = xyz[3 * i + 1];
    p[2] = xyz[3 * i + 2];
    const uv = project(cam, toWorld(lidar, p));
    if (!uv || uv[0] < 0 || uv[1] < 0 || uv[0] >= width || uv[1] >= height) continue;
    out[3 * written] = uv[0];
    out[3 * written + 1] = uv[1];
    out[3 * written + 2] = i;
    written++;
  }
  return written;
}

/** The 8 world corners of a cuboid geometry: bottom face then top face, counter-clockwise
 * from the front-left, seen from above. Roll and pitch are applied after yaw (z-y-x). */
export function cuboidCorners(box) {
  const { position: c, dimensions: d, rotation: r } = box;
  const [cr, sr] = [Math.cos(r.roll || 0), Math.sin(r.roll || 0)];
  const [cp, sp] = [Math.cos(r.pitch || 0), Math.sin(r.pitch || 0)];
  const [cy, sy] = [Math.cos(r.yaw || 0), Math.sin(r.yaw || 0)];
  const m = [
    cy * cp,
    cy * sp * sr - sy * cr,
    cy * sp * cr + sy * sr,
    sy * cp,
    sy * sp * sr + cy * cr,
    sy * sp * cr - cy * sr,
    -sp,
    cp * sr,
    cp * cr,
  ];
  const corners = [];
  for (const zs of [-0.5, 0.5]) {
    for (const [xs, ys] of [
      [0.5, 0.5],
      [-0.5, 0.5],
      [-0.5, -0.5],
      [0.5, -0.5],
    ]) {
      const x = xs * d.x;
      const y = ys * d.y;
      const z = zs * d.z;
      corners.push([
        c.x + m[0] * x + m[1] * y + m[2] * z,
        c.y + m[3] * x + m[4] * y + m[5] * z,
        c.z + m[6] * x + m[7] * y + m[8] * z,
      ]);
    }
  }
  return corners;
}

/** The 12 edges of cuboidCorners as index pairs. */
export const CUBOID_EDGES = [
  [0, 1],
  [1, 2],
  [2, 3],
  [3, 0],
  [4, 5],
  [5, 6],
  [6, 7],
  [7, 4],
  [0, 4],
  [1, 5],
  [2, 6],
  [3, 7],
];

/** The image-space bounding box [u0, v0, u1, v1] of a cuboid, or null if any corner is
 * behind the camera (a box partly behind is not drawn rather than drawn wrong). */
export function projectCuboid(cam, box) {
  const pixels = cuboidCorners(box).map((corner) => project(cam, corner));
  if (pixels.some((p) => p === null)) return null;
  return pixels;
}
