import { describe, expect, it } from 'vitest';
import { imageToWorld, worldToImage } from './image-coords';

// PixelSpacing [0.5, 1.0]: rows 0.5 mm apart (vertical), columns 1.0 mm apart (horizontal).
const plane = {
  imagePositionPatient: [-100, -50, 7],
  rowCosines: [1, 0, 0],
  columnCosines: [0, 1, 0],
  rowPixelSpacing: 0.5,
  columnPixelSpacing: 1.0,
};

describe('image ↔ world coordinates (non-square pixels)', () => {
  it('puts the first pixel centre at ImagePositionPatient', () => {
    expect(imageToWorld(plane, [0.5, 0.5])).toEqual([-100, -50, 7]);
  });

  it('advances horizontally (columns) by the column spacing and vertically (rows) by the row spacing', () => {
    const a = imageToWorld(plane, [10.5, 20.5]);
    const right = imageToWorld(plane, [110.5, 20.5]);
    const down = imageToWorld(plane, [10.5, 120.5]);
    expect(Math.hypot(right[0] - a[0], right[1] - a[1], right[2] - a[2])).toBeCloseTo(100, 9);
    expect(Math.hypot(down[0] - a[0], down[1] - a[1], down[2] - a[2])).toBeCloseTo(50, 9);
  });

  it('round-trips, also on an oblique plane', () => {
    const s = Math.SQRT1_2;
    const oblique = { ...plane, rowCosines: [s, s, 0], columnCosines: [0, 0, -1] };
    for (const p of [plane, oblique]) {
      const [x, y] = worldToImage(p, imageToWorld(p, [37.25, 201.5]));
      expect(x).toBeCloseTo(37.25, 9);
      expect(y).toBeCloseTo(201.5, 9);
    }
  });

  it('falls back to Cornerstone’s defaults when the plane is incomplete', () => {
    expect(imageToWorld({}, [3.5, 4.5])).toEqual([3, 4, 0]);
  });
});
