/** Phantoms: CT in Hounsfield units, MR contrasts, chest radiographs and ultrasound frames, with seeded noise. */

function inEllipse(x: number, y: number, cx: number, cy: number, rx: number, ry: number): boolean {
  const dx = (x - cx) / rx;
  const dy = (y - cy) / ry;
  return dx * dx + dy * dy <= 1;
}

/** Gaussian-ish noise from the sum of 3 uniforms (mean 0, sd ≈ 1). */
function noise(rng: () => number): number {
  return (rng() + rng() + rng() - 1.5) * 2;
}

/** CT slice in HU. z in [0,1] runs through the volume. */
export function ctSliceHu(size: number, z: number, bodyPart: 'CHEST' | 'HEAD' | 'ABDOMEN', rng: () => number): Int16Array {
  const hu = new Int16Array(size * size);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v = -1000 + noise(rng) * 5; // air
      if (bodyPart === 'HEAD') {
        const r = 0.4 * size * Math.sqrt(Math.max(0.15, 1 - (z - 0.45) ** 2 * 2.2));
        if (inEllipse(x, y, c, c, r, r * 1.18)) {
          v = 30 + noise(rng) * 8; // scalp / soft tissue
          if (inEllipse(x, y, c, c, r * 0.93, r * 1.1)) v = 900 + noise(rng) * 60; // skull
          if (inEllipse(x, y, c, c, r * 0.85, r * 1.02)) {
            v = 35 + noise(rng) * 6; // brain
            if (
              inEllipse(x, y, c - r * 0.12, c - r * 0.05, r * 0.07, r * 0.22) ||
              inEllipse(x, y, c + r * 0.12, c - r * 0.05, r * 0.07, r * 0.22)
            )
              v = 8 + noise(rng) * 4; // ventricles (CSF)
          }
        }
      } else {
        const bodyRx = 0.42 * size;
        const bodyRy = 0.3 * size;
        if (inEllipse(x, y, c, c, bodyRx, bodyRy)) {
          v = -100 + noise(rng) * 15; // subcutaneous fat
          if (inEllipse(x, y, c, c, bodyRx * 0.9, bodyRy * 0.86)) v = 45 + noise(rng) * 12; // muscle / organs
          if (bodyPart === 'CHEST') {
            const lung = 0.55 + 0.45 * Math.sin(Math.PI * Math.min(1, Math.max(0, z)));
            if (
              inEllipse(x, y, c - bodyRx * 0.42, c - bodyRy * 0.05, bodyRx * 0.3 * lung, bodyRy * 0.62 * lung) ||
              inEllipse(x, y, c + bodyRx * 0.42, c - bodyRy * 0.05, bodyRx * 0.3 * lung, bodyRy * 0.62 * lung)
            )
              v = -850 + noise(rng) * 40; // lungs
            if (inEllipse(x, y, c + bodyRx * 0.08, c + bodyRy * 0.02, bodyRx * 0.2, bodyRy * 0.3)) v = 40 + noise(rng) * 10; // heart
            if (inEllipse(x, y, c - bodyRx * 0.05, c - bodyRy * 0.35, bodyRx * 0.05, bodyRx * 0.05)) v = 200 + noise(rng) * 15; // contrast-filled aorta
          } else {
            if (inEllipse(x, y, c - bodyRx * 0.35, c - bodyRy * 0.1, bodyRx * 0.3, bodyRy * 0.45)) v = 60 + noise(rng) * 8; // liver
            if (inEllipse(x, y, c + bodyRx * 0.45, c + bodyRy * 0.2, bodyRx * 0.1, bodyRy * 0.22)) v = 30 + noise(rng) * 8; // kidney
          }
          // vertebra: cortical ring and cancellous core
          if (inEllipse(x, y, c, c + bodyRy * 0.6, bodyRx * 0.1, bodyRy * 0.16)) v = 700 + noise(rng) * 50;
          if (inEllipse(x, y, c, c + bodyRy * 0.6, bodyRx * 0.065, bodyRy * 0.11)) v = 250 + noise(rng) * 30;
        }
        // table
        if (y > c + bodyRy + size * 0.05 && y < c + bodyRy + size * 0.07 && Math.abs(x - c) < size * 0.45) v = 300 + noise(rng) * 10;
      }
      hu[y * size + x] = Math.round(v);
    }
  }
  return hu;
}

export function mrSlice(size: number, z: number, weighting: 'T1' | 'T2', rng: () => number): Uint16Array {
  const out = new Uint16Array(size * size);
  const c = size / 2;
  const r = 0.4 * size * Math.sqrt(Math.max(0.15, 1 - (z - 0.45) ** 2 * 2.2));
  const [scalp, skull, csf, gray, white] = weighting === 'T1' ? [700, 60, 180, 620, 820] : [500, 40, 1500, 900, 650];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v = 8 + Math.abs(noise(rng)) * 6;
      if (inEllipse(x, y, c, c, r, r * 1.18)) {
        v = scalp;
        if (inEllipse(x, y, c, c, r * 0.93, r * 1.1)) v = skull;
        if (inEllipse(x, y, c, c, r * 0.87, r * 1.04)) v = csf;
        if (inEllipse(x, y, c, c, r * 0.84, r * 1.0)) v = gray;
        if (inEllipse(x, y, c, c, r * 0.68, r * 0.84)) v = white;
        if (
          inEllipse(x, y, c - r * 0.12, c - r * 0.05, r * 0.07, r * 0.22) ||
          inEllipse(x, y, c + r * 0.12, c - r * 0.05, r * 0.07, r * 0.22)
        )
          v = csf;
        v += noise(rng) * 18;
      }
      out[y * size + x] = Math.max(0, Math.min(4095, Math.round(v)));
    }
  }
  return out;
}

/** Projection radiograph of a chest, 12-bit, MONOCHROME2 (bright = attenuating). */
export function chestRadiograph(rows: number, cols: number, lateral: boolean, rng: () => number): Uint16Array {
  const out = new Uint16Array(rows * cols);
  const cx = cols / 2;
  const cy = rows * 0.52;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      let v = 250; // direct exposure
      if (inEllipse(x, y, cx, cy, cols * (lateral ? 0.3 : 0.42), rows * 0.48)) {
        v = 2300; // soft tissue
        if (lateral) {
          if (inEllipse(x, y, cx - cols * 0.02, cy - rows * 0.05, cols * 0.22, rows * 0.3)) v = 1200;
          if (inEllipse(x, y, cx + cols * 0.1, cy + rows * 0.08, cols * 0.12, rows * 0.14)) v = 2200;
          if (Math.abs(x - (cx + cols * 0.22)) < cols * 0.03) v = 3300; // spine
        } else {
          const lungL = inEllipse(x, y, cx - cols * 0.19, cy - rows * 0.06, cols * 0.14, rows * 0.3);
          const lungR = inEllipse(x, y, cx + cols * 0.19, cy - rows * 0.06, cols * 0.14, rows * 0.3);
          if (lungL || lungR) {
            v = 1100;
            // ribs: bright arcs across the lung fields
            if (Math.sin((y / rows) * Math.PI * 22 + Math.abs(x - cx) / cols) > 0.75) v = 1700;
          }
          if (inEllipse(x, y, cx + cols * 0.04, cy + rows * 0.1, cols * 0.13, rows * 0.13)) v = 2500; // heart
          if (Math.abs(x - cx) < cols * 0.025) v = 3200; // spine
        }
      }
      out[y * cols + x] = Math.max(0, Math.min(4095, Math.round(v + noise(rng) * 25)));
    }
  }
  return out;
}

/** One US frame (8-bit): sector with speckle and a structure that moves with the frame index. */
export function usFrame(rows: number, cols: number, t: number, rng: () => number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  const apexX = cols / 2;
  const apexY = rows * 0.04;
  const maxR = rows * 0.92;
  const halfAngle = (38 * Math.PI) / 180;
  const wall = 0.55 + 0.08 * Math.sin(t * 2 * Math.PI);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const dx = x - apexX;
      const dy = y - apexY;
      const r = Math.hypot(dx, dy);
      const angle = Math.atan2(dx, dy);
      if (r > maxR || Math.abs(angle) > halfAngle || r < rows * 0.04) continue;
      let v = 60 + rng() * 70; // speckle
      const depth = r / maxR;
      v *= 1.1 - 0.6 * depth; // attenuation
      if (inEllipse(x, y, apexX, rows * 0.55, cols * 0.16 * wall, rows * 0.2 * wall)) v *= 0.15; // chamber (anechoic)
      if (Math.abs(y - rows * (0.78 + 0.02 * Math.sin(t * 2 * Math.PI))) < 3) v = 230; // bright interface
      out[y * cols + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}
