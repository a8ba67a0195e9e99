// Projection math: known 3D points project to known pixels (values worked out by hand in the
// comments, and with OpenCV's published models for the distortions).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  camera,
  cuboidCorners,
  poseTransform,
  project,
  projectPoints,
  quaternionMatrix,
  toSensor,
  toWorld,
} from "../../src/labelyard/web/static/editor3d/projection.js";

const INTRINSICS = { fx: 1000, fy: 1000, cx: 640, cy: 360 };
// A camera on a car's roof looking forward: camera z = world +x, camera x = world -y,
// camera y = world -z. Its rotation (camera -> world) is the quaternion (0.5, -0.5, 0.5, -0.5).
const FORWARD = { position: { x: 1, y: 0, z: 1.5 }, heading: { w: 0.5, x: -0.5, y: 0.5, z: -0.5 } };
// World (11, -1, 1) is 10 m ahead, 1 m right, 0.5 m down of that camera: camera (1, 0.5, 10).
const POINT = [11, -1, 1];

function near(actual, expected, tolerance = 1e-6) {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, i) => {
    assert.ok(Math.abs(value - expected[i]) <= tolerance, `${actual} != ${expected}`);
  });
}

test("the roof camera's quaternion turns camera axes into world axes", () => {
  near(quaternionMatrix(FORWARD.heading), [0, 0, 1, -1, 0, 0, 0, -1, 0]);
  near(toSensor(poseTransform(FORWARD), POINT), [1, 0.5, 10]);
  near(toWorld(poseTransform(FORWARD), [1, 0.5, 10]), POINT);
});

test("pinhole without distortion: u = fx x/z + cx, v = fy y/z + cy", () => {
  near(project(camera({ intrinsics: INTRINSICS }, FORWARD), POINT), [740, 410]);
});

test("pinhole with radial distortion k1", () => {
  // r2 = 0.0125, radial = 1 + 0.1 * r2 = 1.00125
  const cam = camera({ intrinsics: { ...INTRINSICS, k1: 0.1 } }, FORWARD);
  near(project(cam, POINT), [740.125, 410.0625]);
});

test("pinhole with radial and tangential distortion (Brown-Conrady, as OpenCV)", () => {
  // x' = 0.100125 + 2 p1 x y + p2 (r2 + 2 x^2) = 0.100875; y' = 0.0500625 + p1 (r2 + 2 y^2)
  // + 2 p2 x y = 0.0504375
  const intrinsics = { ...INTRINSICS, distortion: { k1: 0.1, p1: 0.01, p2: 0.02 } };
  near(project(camera({ intrinsics }, FORWARD), POINT), [740.875, 410.4375]);
});

test("fisheye (Kannala-Brandt k1..k4, as OpenCV's fisheye model)", () => {
  // theta = atan(0.1118034); theta_d = theta (1 + k1 t^2 + k2 t^4 + k3 t^6 + k4 t^8)
  const intrinsics = { ...INTRINSICS, k1: 0.1, k2: 0.01, k3: 0.001, k4: 0.0001 };
  const cam = camera({ intrinsics, camera_model: "fisheye" }, FORWARD);
  near(project(cam, POINT), [739.7100394559042, 409.8550197279521], 1e-9);
  // 84 degrees off axis still lands on a fisheye image, far beyond a pinhole's reach.
  const wide = camera({
    intrinsics: { fx: 500, fy: 500, cx: 640, cy: 360, k1: 0.1 },
    camera_model: "fisheye",
  });
  near(project(wide, [10, 0, 1]), [1534.7557863326872, 360], 1e-9);
});

test("points behind the camera do not project", () => {
  assert.equal(project(camera({ intrinsics: INTRINSICS }, FORWARD), [-5, 0, 1]), null);
});

test("projectPoints keeps the points inside the image, with their index", () => {
  const lidar = poseTransform({
    position: { x: 1, y: 0, z: 0 },
    heading: { w: 1, x: 0, y: 0, z: 0 },
  });
  const xyz = new Float32Array([10, -1, 1, -10, 0, 0, 10, 40, 1]);
  const out = new Float32Array(9);
  const written = projectPoints(
    camera({ intrinsics: INTRINSICS }, FORWARD),
    lidar,
    xyz,
    out,
    1280,
    720,
  );
  assert.equal(written, 1);
  near(Array.from(out.slice(0, 3)), [740, 410, 0], 1e-3);
});

test("cuboid corners: a yawed box's front-left corner", () => {
  const box = {
    position: { x: 10, y: 0, z: 1 },
    dimensions: { x: 4, y: 2, z: 2 },
    rotation: { roll: 0, pitch: 0, yaw: Math.PI / 2 },
  };
  const corners = cuboidCorners(box);
  // Heading along +y: the front-left (length/2 ahead, width/2 left) is at (10 - 1, 2), bottom.
  near(corners[0], [9, 2, 0]);
  near(corners[6], [11, -2, 2]);
});
