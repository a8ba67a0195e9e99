// The 3D view: the frame's points and cuboids drawn with three.js; a perspective camera with
// orbit/pan/zoom and a top view where boxes are drawn, moved and points box-selected.
import { OrbitControls } from "/ui/static/vendor/OrbitControls.js";
import * as THREE from "/ui/static/vendor/three.module.js";

const CLICK_PIXELS = 4;
const INSETS = ["top", "side", "front"];

export class View3D {
  constructor(container, { onDraw, onLasso, onBrush, onPick }) {
    this.container = container;
    this.onDraw = onDraw;
    this.onLasso = onLasso;
    this.onBrush = onBrush;
    this.onPick = onPick;
    this.tool = "select";
    this.mode = "perspective";
    this.renderer = new THREE.WebGLRenderer({ antialias: false });
    this.renderer.setPixelRatio(window.devicePixelRatio || 1);
    this.renderer.setClearColor(0x10131a);
    container.append(this.renderer.domElement);
    this.scene = new THREE.Scene();
    this.perspective = new THREE.PerspectiveCamera(60, 1, 0.1, 2000);
    this.perspective.up.set(0, 0, 1);
    this.perspective.position.set(-15, -15, 15);
    this.top = new THREE.OrthographicCamera(-20, 20, 20, -20, 0.1, 5000);
    this.top.up.set(0, 1, 0);
    this.top.position.set(0, 0, 500);
    this.orbit = new OrbitControls(this.perspective, this.renderer.domElement);
    this.pan = new OrbitControls(this.top, this.renderer.domElement);
    this.pan.enableRotate = false;
    this.pan.screenSpacePanning = true;
    for (const controls of [this.orbit, this.pan])
      controls.addEventListener("change", () => this.draw());
    this.points = new THREE.Points(
      new THREE.BufferGeometry(),
      new THREE.PointsMaterial({ size: 2, sizeAttenuation: false, vertexColors: true }),
    );
    this.scene.add(this.points);
    this.boxes = new THREE.Group();
    this.scene.add(this.boxes);
    this.scene.add(new THREE.AxesHelper(2));
    this.ground = 0;
    this.rectangle = document.createElement("div");
    this.rectangle.className = "drawing";
    this.rectangle.hidden = true;
    container.append(this.rectangle);
    const svg = "http://www.w3.org/2000/svg";
    this.lasso = document.createElementNS(svg, "svg");
    this.lasso.classList.add("lasso");
    this.lasso.append(document.createElementNS(svg, "polyline"));
    this.lasso.hidden = true;
    container.append(this.lasso);
    this.insetLabels = INSETS.map((name) => {
      const label = document.createElement("span");
      label.className = "inset-name";
      label.textContent = name;
      label.hidden = true;
      container.append(label);
      return label;
    });
    this.renderer.domElement.addEventListener("pointerdown", (e) => this.pointerDown(e));
    window.addEventListener("pointermove", (e) => this.pointerMove(e));
    window.addEventListener("pointerup", (e) => this.pointerUp(e));
    new ResizeObserver(() => this.resize()).observe(container);
    this.setMode("perspective");
    this.resize();
    // Compile the shaders now, while the point cloud is still on its way (slow on SwiftShader).
    this.renderer.compile(this.scene, this.perspective);
  }

  get camera() {
    return this.mode === "top" ? this.top : this.perspective;
  }

  setMode(mode) {
    this.mode = mode;
    this.orbit.enabled = mode === "perspective";
    this.pan.enabled = mode === "top";
    this.setTool(this.tool);
    this.resize();
  }

  setTool(tool) {
    this.tool = tool;
    this.container.dataset.tool = tool;
    // In the top view the left button draws (cuboid, points) or pans (select).
    const drawing = tool !== "select";
    this.pan.mouseButtons.LEFT = drawing ? null : THREE.MOUSE.PAN;
    this.draw();
  }

  resize() {
    const width = this.container.clientWidth || 1;
    const height = this.container.clientHeight || 1;
    this.renderer.setSize(width, height, false);
    this.perspective.aspect = width / height;
    this.perspective.updateProjectionMatrix();
    const half = (this.top.top - this.top.bottom) / 2;
    this.top.left = -half * (width / height);
    this.top.right = half * (width / height);
    this.top.updateProjectionMatrix();
    this.draw();
  }

  /** Frame the view on a cloud's bounds (first load only). */
  frame(low, high) {
    const cx = (low[0] + high[0]) / 2;
    const cy = (low[1] + high[1]) / 2;
    const reach = Math.max(high[0] - low[0], high[1] - low[1], 10) / 2;
    this.ground = low[2];
    this.orbit.target.set(cx, cy, low[2]);
    this.perspective.position.set(cx - reach, cy - reach, low[2] + reach);
    this.pan.target.set(cx, cy, 0);
    this.top.position.set(cx, cy, 500);
    this.top.top = reach;
    this.top.bottom = -reach;
    this.orbit.update();
    this.pan.update();
    this.resize();
  }

  /** Show points (Float32Array xyz in the world frame) with per-point RGB colours. */
  setPoints(xyz, colours) {
    const geometry = new THREE.BufferGeometry();
    geometry.setAttribute("position", new THREE.BufferAttribute(xyz, 3));
    geometry.setAttribute("color", new THREE.BufferAttribute(colours, 3));
    this.points.geometry.dispose();
    this.points.geometry = geometry;
    this.draw();
  }

  /** Show cuboids: [{id, box, colour, selected}]. */
  setBoxes(items) {
    this.focus = items.find((item) => item.selected)?.box || null;
    for (const child of [...this.boxes.children]) {
      child.geometry?.dispose();
      this.boxes.remove(child);
    }
    for (const { box, colour, selected } of items) {
      const material = new THREE.LineBasicMaterial({ color: selected ? 0xffffff : colour });
      const edges = new THREE.LineSegments(
        new THREE.EdgesGeometry(new THREE.BoxGeometry(1, 1, 1)),
        material,
      );
      edges.scale.set(box.dimensions.x, box.dimensions.y, box.dimensions.z);
      edges.position.set(box.position.x, box.position.y, box.position.z);
      edges.rotation.set(box.rotation.roll, box.rotation.pitch, box.rotation.yaw, "ZYX");
      this.boxes.add(edges);
      // The heading: a line from the centre to the front face.
      const heading = new THREE.BufferGeometry().setFromPoints([
        new THREE.Vector3(0, 0, 0),
        new THREE.Vector3(0.5, 0, 0),
      ]);
      const arrow = new THREE.Line(heading, material);
      arrow.scale.copy(edges.scale);
      arrow.position.copy(edges.position);
      arrow.rotation.copy(edges.rotation);
      this.boxes.add(arrow);
    }
    this.draw();
  }

  draw() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = null;
      this.renderer.render(this.scene, this.camera);
      this.drawInsets();
      if (!this.container.dataset.rendered) performance.mark("labelyard3d-first-render");
      this.container.dataset.rendered = String(Number(this.container.dataset.rendered || 0) + 1);
    });
  }

  /** Top, side and front views of the selected cuboid, down the right edge of the view: each
   * an orthographic camera around the box, clipped to the box's depth (plus a margin). */
  drawInsets() {
    const box = this.focus;
    for (const label of this.insetLabels) label.hidden = !box;
    if (!box) return;
    const width = this.container.clientWidth;
    const height = this.container.clientHeight;
    const size = Math.floor(Math.min(height / 3 - 8, width / 4));
    const { x: length, y: breadth, z: tall } = box.dimensions;
    const c = new THREE.Vector3(box.position.x, box.position.y, box.position.z);
    const yaw = box.rotation.yaw;
    const heading = new THREE.Vector3(Math.cos(yaw), Math.sin(yaw), 0);
    const left = new THREE.Vector3(-Math.sin(yaw), Math.cos(yaw), 0);
    const up = new THREE.Vector3(0, 0, 1);
    const views = {
      top: { look: up, up: heading, depth: tall, span: Math.max(length, breadth) },
      side: { look: left, up, depth: breadth, span: Math.max(length, tall) },
      front: { look: heading, up, depth: length, span: Math.max(breadth, tall) },
    };
    this.renderer.setScissorTest(true);
    INSETS.forEach((name, i) => {
      const view = views[name];
      const half = (view.span / 2) * 1.4 + 0.3;
      const camera = new THREE.OrthographicCamera(-half, half, half, -half, 0.1, 1000);
      const distance = 50;
      camera.position.copy(c).addScaledVector(view.look, distance);
      camera.up.copy(view.up);
      camera.lookAt(c);
      camera.near = distance - view.depth / 2 - 0.3;
      camera.far = distance + view.depth / 2 + 0.3;
      camera.updateProjectionMatrix();
      const x = width - size - 6;
      const y = height - (i + 1) * (size + 6);
      this.renderer.setViewport(x, y, size, size);
      this.renderer.setScissor(x, y, size, size);
      this.renderer.setClearColor(0x1d2230);
      this.renderer.clear();
      this.renderer.render(this.scene, camera);
      Object.assign(this.insetLabels[i].style, { right: "6px", top: `${i * (size + 6) + 6}px` });
    });
    this.renderer.setScissorTest(false);
    this.renderer.setClearColor(0x10131a);
    this.renderer.setViewport(0, 0, width, height);
  }

  /** The world point under a client position, on the horizontal plane at height z. */
  worldAt(clientX, clientY, z = this.ground) {
    const rect = this.renderer.domElement.getBoundingClientRect();
    const ndc = new THREE.Vector2(
      ((clientX - rect.left) / rect.width) * 2 - 1,
      -((clientY - rect.top) / rect.height) * 2 + 1,
    );
    const ray = new THREE.Raycaster();
    ray.setFromCamera(ndc, this.camera);
    const hit = new THREE.Vector3();
    const plane = new THREE.Plane(new THREE.Vector3(0, 0, 1), -z);
    return ray.ray.intersectPlane(plane, hit) ? [hit.x, hit.y, hit.z] : null;
  }

  /** The client position of a world point in the current view (for tests and tooltips). */
  screenOf(point) {
    const rect = this.renderer.domElement.getBoundingClientRect();
    const v = new THREE.Vector3(...point).project(this.camera);
    return [rect.left + ((v.x + 1) / 2) * rect.width, rect.top + ((1 - v.y) / 2) * rect.height];
  }

  pointerDown(event) {
    if (event.button !== 0) return;
    this.press = {
      x: event.clientX,
      y: event.clientY,
      drawing: this.mode === "top" && this.tool !== "select",
      path: [[event.clientX, event.clientY]],
    };
  }

  pointerMove(event) {
    if (!this.press?.drawing) return;
    const rect = this.container.getBoundingClientRect();
    if (this.tool === "brush") {
      const at = this.worldAt(event.clientX, event.clientY);
      if (at) this.onBrush(at, !this.press.brushed);
      this.press.brushed = true;
      return;
    }
    if (this.tool === "lasso") {
      this.press.path.push([event.clientX, event.clientY]);
      const points = this.press.path.map(([x, y]) => `${x - rect.left},${y - rect.top}`);
      this.lasso.firstChild.setAttribute("points", points.join(" "));
      this.lasso.hidden = false;
      return;
    }
    const [x0, x1] = [this.press.x, event.clientX].sort((a, b) => a - b);
    const [y0, y1] = [this.press.y, event.clientY].sort((a, b) => a - b);
    Object.assign(this.rectangle.style, {
      left: `${x0 - rect.left}px`,
      top: `${y0 - rect.top}px`,
      width: `${x1 - x0}px`,
      height: `${y1 - y0}px`,
    });
    this.rectangle.hidden = false;
  }

  pointerUp(event) {
    const press = this.press;
    this.press = null;
    this.rectangle.hidden = true;
    this.lasso.hidden = true;
    if (!press) return;
    const moved = Math.hypot(event.clientX - press.x, event.clientY - press.y);
    if (press.drawing && this.tool === "brush") {
      const at = this.worldAt(event.clientX, event.clientY);
      if (at) this.onBrush(at, !press.brushed);
      return;
    }
    if (press.drawing && this.tool === "lasso" && press.path.length > 2) {
      const polygon = press.path.map(([x, y]) => this.worldAt(x, y));
      if (polygon.every(Boolean)) this.onLasso(polygon);
      return;
    }
    if (press.drawing && moved > CLICK_PIXELS) {
      const a = this.worldAt(press.x, press.y);
      const b = this.worldAt(event.clientX, event.clientY);
      if (a && b) this.onDraw(a, b, this.tool);
      return;
    }
    if (moved <= CLICK_PIXELS && event.target === this.renderer.domElement) {
      this.onPick((z) => this.worldAt(event.clientX, event.clientY, z));
    }
  }
}
