"""The 3D editor in headless Chromium (WebGL on SwiftShader: a CPU renderer, no GPU here).

One SENSOR_FUSION job of ``--lidar-frames`` frames of the generated street scene, each with
``--lidar-points`` points and two 640x360 cameras. The clouds are converted in this process and
written into the served instance's blob store, as the worker would. Figures:

- ``lidar_first_render_ms``: from "Start" on the queue page to the first rendered frame with
  its points and both camera images (target <= 1000);
- ``lidar_frame_switch_ms``: median time from ``D`` (next frame, loaded ahead) to that frame
  drawn (target <= 150);
- ``lidar_orbit_fps_frame``, ``lidar_orbit_fps_1m``: frames per second while orbiting around
  the frame's points, and around a million random points.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np

from labelyard import demo_scene
from labelyard.blobs import point_cloud_key
from labelyard.blobs.local import LocalBlobStore
from labelyard.config import Settings
from labelyard.core.pointcloud import PointCloud, browser_layout
from labelyard.store import point_clouds as point_cloud_store
from labelyard.store.engine import Database

CHROMIUM = os.environ.get("LABELYARD_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
ORBIT_FRAMES = 60

# Orbit the perspective camera once around its target, rendering each step; frames per second.
ORBIT = """async (steps) => {
  const view = window.labelyard3d.view;
  view.setMode("perspective");
  const camera = view.perspective;
  const target = view.orbit.target;
  const radius = Math.hypot(camera.position.x - target.x, camera.position.y - target.y);
  const gl = view.renderer.getContext();
  const pixel = new Uint8Array(4);
  const started = performance.now();
  for (let i = 0; i < steps; i++) {
    const angle = (2 * Math.PI * i) / steps;
    camera.position.x = target.x + radius * Math.cos(angle);
    camera.position.y = target.y + radius * Math.sin(angle);
    camera.lookAt(target);
    view.renderer.render(view.scene, camera);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel); // waits for the frame
  }
  return (steps * 1000) / (performance.now() - started);
}"""
MILLION = """(n) => {
  const xyz = new Float32Array(n * 3);
  const colours = new Float32Array(n * 3);
  for (let i = 0; i < n * 3; i++) {
    xyz[i] = (Math.random() - 0.5) * 80;
    colours[i] = Math.random();
  }
  window.labelyard3d.view.setPoints(xyz, colours);
}"""


class _Images(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("content-length", str(len(body)))
        self.send_header("cache-control", "max-age=3600")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


async def _convert(
    env: dict[str, str], project_id: str, job_id: str, frames: int, points: int
) -> None:
    settings = Settings(
        database_url=env.get("LABELYARD_DATABASE_URL", ""), data_dir=Path(env["LABELYARD_DATA_DIR"])
    )
    db = Database(settings.resolved_database_url(), pool_size=1)
    blobs = LocalBlobStore(settings.resolved_blob_dir())
    try:
        for frame in range(frames):
            raw = demo_scene.lidar_points(frame % 6, points=points)
            cloud = PointCloud(
                xyz=np.ascontiguousarray(raw[:, :3]),
                intensity=(raw[:, 3] * 255).astype(np.uint8),
                source_count=len(raw),
                source_index=None,
            )
            key = point_cloud_key(project_id, job_id, frame)
            await blobs.put(key, browser_layout(cloud))
            async with db.write() as conn:
                await point_cloud_store.update_point_cloud(
                    conn,
                    project_id=project_id,
                    job_id=job_id,
                    position=frame,
                    status=point_cloud_store.READY,
                    blob_key=key,
                    points=cloud.count,
                    source_points=cloud.source_count,
                )
    finally:
        await db.dispose()


def bench_lidar_web(base_url: str, admin_token: str, args: Any) -> dict[str, Any]:
    """The figures above; ``{}`` without Chromium or with ``--lidar-frames 0``."""
    frames, points = args.lidar_frames, args.lidar_points
    if frames <= 0 or not Path(CHROMIUM).exists():
        return {}
    from playwright.sync_api import sync_playwright

    _Images.files = {
        f"{kind}-{i}.png": demo_scene.camera_image(i, pose, intrinsics, model)
        for i in range(6)
        for kind, pose, intrinsics, model in (
            ("front", demo_scene.FRONT, demo_scene.INTRINSICS, "pinhole"),
            ("rear", demo_scene.REAR, demo_scene.FISHEYE, "fisheye"),
        )
    }
    images = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=images.serve_forever, daemon=True).start()
    image_base = f"http://127.0.0.1:{images.server_address[1]}"
    try:
        admin = httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {admin_token}"})
        account = admin.post("/admin/v1/accounts", json={"name": "lidar"}).json()["data"]
        project = admin.post(
            "/admin/v1/projects",
            json={"name": "lidar", "base": "SENSOR_FUSION", "account_id": account["account_id"]},
        ).json()["data"]
        worker = admin.post(
            f"/admin/v1/accounts/{account['account_id']}/workers",
            json={"name": "annotator", "role": "annotator"},
        ).json()["data"]
        pid = project["project_id"]

        def url(kind: str, i: int) -> str:
            if kind == "lidar":
                return f"{image_base}/lidar-{i}.pcd"  # never fetched: converted here
            return f"{image_base}/{kind}-{i % 6}.png"

        body = {
            "reference_id": "street",
            "work_flow_id": project["work_flow_id"],
            "data": {"sensor_data": demo_scene.sensor_data(frames, url)},
        }
        api = httpx.Client(base_url=base_url, headers={"x-api-key": project["api_key"]})
        created = api.post(f"/v1/projects/{pid}/jobs", json=body)
        created.raise_for_status()
        job_id = created.json()["data"]["job_id"]
        asyncio.run(_convert(args.served_env, pid, job_id, frames, points))

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(f"{base_url}/ui/login")
            page.locator("#login-token input[name=secret]").fill(worker["token"])
            page.locator("#login-token button").click()
            page.wait_for_url("**/ui/queue")
            started = time.perf_counter()
            page.locator(f"tr[data-project='{pid}'][data-step='annotate'] button").click()
            page.locator("#view3d[data-shown='000']").wait_for(timeout=60_000)
            page.wait_for_function(
                "[...document.querySelectorAll('.camera img')].every(i => i.complete)"
                " && document.querySelectorAll('.camera img').length === 2"
                " && Number(document.querySelector('#view3d').dataset.rendered) > 0"
            )
            first_render = time.perf_counter() - started
            marks = page.evaluate(
                "() => Object.fromEntries(performance.getEntriesByType('mark')"
                ".map(m => [m.name, Math.round(m.startTime)]))"
            )
            print("3D page marks (ms since navigation):", marks, flush=True)

            switches = []
            for i in range(1, min(frames, 11)):
                page.wait_for_timeout(1000)  # the annotator works; the next frames load
                started = time.perf_counter()
                page.keyboard.press("d")
                page.locator(f"#view3d[data-shown='{i:03d}']").wait_for()
                page.evaluate("() => new Promise(requestAnimationFrame)")
                switches.append(time.perf_counter() - started)
            figures: dict[str, Any] = {
                "lidar_points": float(points),
                "lidar_first_render_ms": first_render * 1000,
                "lidar_frame_switch_ms": statistics.median(switches) * 1000,
                "lidar_orbit_fps_frame": page.evaluate(ORBIT, ORBIT_FRAMES),
            }
            page.evaluate(MILLION, 1_000_000)
            figures["lidar_orbit_fps_1m"] = page.evaluate(ORBIT, ORBIT_FRAMES // 3)
            browser.close()
    finally:
        images.shutdown()
        images.server_close()
    return figures
